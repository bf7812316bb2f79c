#pragma once

namespace nodepack::bpf {

// Routes libbpf's own messages into spdlog (warn → warn, info → debug, debug → trace).
// Idempotent; every collector calls it before opening a skeleton.
void route_libbpf_logs_to_spdlog();

}  // namespace nodepack::bpf
