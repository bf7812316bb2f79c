#pragma once

// The agent's usage accounting: request integrals driven by pod events, memory samples, GPUs from
// the device checkpoint, GPU memory from NVML, and the state file that carries the counters across
// restarts. See README.md in this directory for the scheme.

#include "agent/accounting/gpu_allocation.hpp"
#include "agent/accounting/memory_sampler.hpp"
#include "agent/accounting/nvml.hpp"
#include "agent/accounting/request_integrator.hpp"
#include "agent/node_state.hpp"
#include "agent/source.hpp"
#include "cgroup/resolver.hpp"
#include "common/clock.hpp"
#include "common/host_paths.hpp"

#include <prometheus/collectable.h>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace nodepack::agent::accounting {

struct AccountingOptions {
  HostPaths paths;
  std::string node;
  std::filesystem::path state_file;  // empty: counters start from zero at every start
  std::chrono::nanoseconds sample_interval = std::chrono::seconds(10);
  std::chrono::nanoseconds retention = std::chrono::minutes(5);
  std::vector<std::string> gpu_resources{"nvidia.com/gpu", "amd.com/gpu"};
  std::string nvml_library = "libnvidia-ml.so.1";
};

// What the collector exports besides the per-container accounts.
struct AccountingStatus {
  std::chrono::system_clock::time_point started;
  std::size_t restored_containers = 0;
  bool nvml_up = false;
  bool memory_sampling_up = false;
  bool state_load_failed = false;  // the state file existed but could not be used
  std::uint64_t state_read_errors = 0;
  std::uint64_t state_write_errors = 0;
  std::uint64_t state_restore_errors = 0;  // a usable file whose times were ahead of the clock
  // container -> GPU uuid -> device memory its processes use
  std::map<ContainerKey, std::map<std::string, std::uint64_t>> gpu_memory;
};

// A pod listener (requests are integrated at each event) and a source (samples on a timer).
class AccountingSource final : public PodListener, public Source {
 public:
  // `cgroups` is the agent's shared resolver; null when the host has none (`no_cgroups` says
  // why), which turns memory used byte-seconds off.
  AccountingSource(const NodeState& state, AccountingOptions options, cgroup::CgroupResolver* cgroups,
                   std::string no_cgroups, const Clock& clock);
  ~AccountingSource() override;

  std::string_view name() const override { return "accounting"; }
  // Reads the state file (a bad one is logged, counted and renamed aside) and loads NVML; every
  // missing piece turns its feature off, never the agent.
  void start() override;
  // One round every sample interval on the agent's io_context.
  boost::asio::awaitable<void> run() override;
  // One round now: device checkpoint, memory samples, NVML, state file.
  void tick();
  // Writes the state a last time.
  void stop() override;
  boost::json::value debug_json() const override;

  void pod_upserted(const kube::Pod& pod) override;
  void pod_removed(const std::string& uid) override;
  void pods_replaced(const std::vector<kube::Pod>& pods) override;

  std::shared_ptr<prometheus::Collectable> collector() const override { return collector_; }
  RequestIntegrator& integrator() { return integrator_; }
  AccountingStatus status() const;
  const AccountingOptions& options() const { return options_; }
  std::chrono::system_clock::time_point now() const { return clock_.now(); }

 private:
  void load_state();
  void save_state();
  void sample_nvml();
  std::optional<ContainerKey> container_by_id(const std::string& pod_uid, const std::string& container_id) const;

  const NodeState& state_;
  AccountingOptions options_;
  cgroup::CgroupResolver* cgroups_;
  std::string no_cgroups_;
  const Clock& clock_;
  mutable RequestIntegrator integrator_;  // a read integrates up to now; it has its own mutex
  GpuAllocationFile gpus_;
  std::unique_ptr<MemorySampler> memory_;
  std::unique_ptr<Nvml> nvml_;
  std::shared_ptr<prometheus::Collectable> collector_;
  bool stopped_ = false;

  mutable std::mutex mutex_;
  AccountingStatus status_;
};

}  // namespace nodepack::agent::accounting
