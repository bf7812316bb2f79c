# Benchmarks of the bpf/ module (included by bench/CMakeLists.txt when present).
if(TARGET nodepack_bpf)
  # User-space costs at scrape time: histogram export, per-pod folding, cgroup walks.
  nodepack_add_bench(bench_bpf SOURCES bench_bpf.cpp LIBS nodepack_bpf)
  # Kernel-side cost per event under a scheduler-heavy load, against bpftrace (bpf_overhead.sh).
  add_executable(bench_bpf_overhead bench_bpf_overhead.cpp)
  target_link_libraries(bench_bpf_overhead PRIVATE nodepack_bpf nodepack_warnings)
endif()
if(TARGET nodepack_bpf)
  # Loopback TCP throughput and per-packet program cost with the network collectors (net_overhead.sh).
  add_executable(bench_net_overhead bench_net_overhead.cpp http_keepalive_load.cpp raw_cgroup_programs.cpp)
  target_link_libraries(bench_net_overhead PRIVATE nodepack_bpf nodepack_boost nodepack_warnings)
endif()
if(TARGET nodepack_bpf)
  # One-step sched_switch programs whose cost bench_bpf_overhead --ablation measures (the rules'
  # variables are set per directory, so they are included here again).
  include(${PROJECT_SOURCE_DIR}/bpf/cmake/NodepackBpf.cmake)
  nodepack_bpf_skeleton(sched_ablation ${CMAKE_CURRENT_SOURCE_DIR}/sched_ablation.bpf.c)
  target_link_libraries(bench_bpf_overhead PRIVATE nodepack_bpf_skel_sched_ablation)
endif()
