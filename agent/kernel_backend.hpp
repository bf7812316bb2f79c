#pragma once

// The per-pod kernel collectors this binary was built with. CMake compiles one of
// kernel_backend_bpf.cpp (kpod's file collectors and the eBPF programs, which share one feature
// probe and the kernel's run-time statistics) and kernel_backend_files.cpp (the file collectors
// alone, for -DNODEPACK_BPF=OFF), so no other file asks which build it is in.

#include "agent/bpf_stats_policy.hpp"
#include "common/clock.hpp"
#include "kpod/registry.hpp"

#include <prometheus/collectable.h>
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace nodepack::agent {

class KernelBackend {
 public:
  static std::unique_ptr<KernelBackend> create(const Clock& clock, BpfStatsPolicy stats);
  virtual ~KernelBackend() = default;

  virtual std::vector<kpod::CollectorSpec> collectors() = 0;
  // After the registry started its collectors.
  virtual void started(const kpod::CollectorRegistry& registry) = 0;
  // Background work on the agent's io_context (the statistics' windows); returns at once when none.
  virtual boost::asio::awaitable<void> run() { co_return; }
  // Metrics of its own (nodepack_bpf_feature, ...), or null.
  virtual std::shared_ptr<prometheus::Collectable> collector() = 0;
  virtual bool has_bpf() const = 0;
  // Where the registry sends the cgroups of filtered pods, so programs skip them; null: nowhere.
  virtual std::function<void(const std::vector<std::uint64_t>&)> skip_cgroups() { return nullptr; }
};

// Every kernel collector of this build (for --collector.<name>, and to tell which run).
std::vector<kpod::CollectorSpec> kernel_collector_specs();

}  // namespace nodepack::agent
