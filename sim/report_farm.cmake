# nodepack-report-farm: synthetic agents (/report for N nodes on one port) and the matching API
# objects, for aggregator scale benchmarks. Included from sim/CMakeLists.txt.
add_library(nodepack_report_farm STATIC ${PROJECT_SOURCE_DIR}/sim/report_farm.cpp)
target_link_libraries(nodepack_report_farm PUBLIC nodepack_http nodepack_common nodepack_boost
  PRIVATE nodepack_warnings)

add_executable(nodepack-report-farm ${PROJECT_SOURCE_DIR}/sim/report_farm_main.cpp)
target_link_libraries(nodepack-report-farm PRIVATE nodepack_report_farm nodepack_sim nodepack_warnings)
