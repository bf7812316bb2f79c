# Aggregator micro benchmarks at cluster scale (reports from the synthetic report farm).
if(TARGET nodepack_aggregator AND TARGET nodepack_report_farm)
  nodepack_add_bench(bench_aggregator SOURCES bench_aggregator.cpp bench_cluster_pods.cpp LIBS nodepack_aggregator nodepack_report_farm)
endif()
