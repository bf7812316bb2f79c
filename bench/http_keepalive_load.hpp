#pragma once
// Small HTTP/1.1 requests on keep-alive connections between two cgroups, for as long as asked:
// the traffic whose every segment the http collector parses (bench_net_overhead).
#include <filesystem>
#include <string>

namespace nodepack::bench {

struct HttpLoad {
  std::filesystem::path client_cgroup, server_cgroup;
  std::string client_addr, server_addr;
  int port = 0;
  int seconds = 2;
  int requests_per_connection = 100;     // then a new connection: first segments are paid too
  int client_cpu = -1, server_cpu = -1;  // pinned when >= 0
};

// Runs the load; the number of requests answered (0 on failure).
long run_http_load(const HttpLoad& load);

}  // namespace nodepack::bench
