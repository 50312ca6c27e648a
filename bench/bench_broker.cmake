# bench_broker: the broker and its processes (included by bench/CMakeLists.txt).
add_executable(bench_broker ${CMAKE_CURRENT_SOURCE_DIR}/bench_broker.c ${CMAKE_CURRENT_SOURCE_DIR}/bench_proc.c)
target_link_libraries(bench_broker PRIVATE parley_wire parley_env PkgConfig::ZMQ PkgConfig::JANSSON)
add_dependencies(bench_broker parley parley-broker parley-agent)

# bench_turn: the turn round trip against raw ZeroMQ, interleaved (bench/RESULTS.md).
add_executable(bench_turn ${CMAKE_CURRENT_SOURCE_DIR}/bench_turn.c ${CMAKE_CURRENT_SOURCE_DIR}/bench_proc.c)
target_link_libraries(bench_turn PRIVATE PkgConfig::ZMQ PkgConfig::JANSSON)
add_dependencies(bench_turn parley parley-broker parley-agent)
