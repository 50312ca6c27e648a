# Helpers shared by every folder's CMakeLists.txt.

# pl_add_test(NAME name SOURCES a.c b.c LIBS lib... [TIMEOUT seconds] [LABELS l...])
# Builds one cmocka test executable and registers it with ctest. Tests run from
# the build directory with PARLEY_BIN pointing at the built programs, so that
# end-to-end tests can spawn real broker and agent processes.
function(pl_add_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 60)
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} PkgConfig::CMOCKA)
  set_target_properties(${T_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  set_tests_properties(${T_NAME} PROPERTIES TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "PARLEY_BIN=${CMAKE_BINARY_DIR}/bin;PARLEY_SRC=${CMAKE_SOURCE_DIR};CMOCKA_MESSAGE_OUTPUT=stdout")
  if(T_LABELS)
    set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}")
  endif()
endfunction()
