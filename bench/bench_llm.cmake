# bench_llm: the llm policy against parley-fake-llm (tests/llm). Included by
# bench/CMakeLists.txt when present.
if(TARGET parley-fake-llm)
  if(TARGET parley_agent_llm)
    set(PL_BENCH_LLM_LIB parley_agent_llm)
  else()
    set(PL_BENCH_LLM_LIB parley_llm_standin)
  endif()
  add_executable(bench_llm bench_llm.c ${CMAKE_SOURCE_DIR}/tests/llm/fake_proc.c)
  target_include_directories(bench_llm PRIVATE ${CMAKE_SOURCE_DIR}/tests/llm)
  target_link_libraries(bench_llm PRIVATE ${PL_BENCH_LLM_LIB})
  add_dependencies(bench_llm parley-fake-llm)
endif()
if(TARGET bench_llm)
  # --cache reads the price table from the source tree unless given one
  target_compile_definitions(bench_llm PRIVATE PARLEY_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
endif()
