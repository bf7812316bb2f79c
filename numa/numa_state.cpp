#include "numa/numa_state.hpp"

#include "numa/invariants.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace nodepack::numa {

namespace {

// One past the highest CPU id the machine has, online or not: the kubelet can name no other.
int machine_cpu_limit(const Topology& topo) {
  const int highest = std::max(topo.online_cpus.max_id(), topo.offline_cpus.max_id());
  return highest < 0 ? CpuSet::hard_cpu_limit : highest + 1;
}

}  // namespace

NumaState::NumaState(NumaOptions options, const Clock& clock, const cgroup::PodLookup* pods)
    : options_(std::move(options)),
      clock_(clock),
      pods_(pods),
      cpu_(
          "cpu_manager_state", options_.paths.kubelet_root / "cpu_manager_state",
          [this](std::string_view text) { return parse_cpu_manager_state(text, cpu_limit_); }, clock,
          options_.max_file_bytes),
      memory_("memory_manager_state", options_.paths.kubelet_root / "memory_manager_state", &parse_memory_manager_state,
              clock, options_.max_file_bytes),
      devices_("kubelet_internal_checkpoint",
               options_.paths.kubelet_root / "device-plugins/kubelet_internal_checkpoint", &parse_device_checkpoint,
               clock, options_.max_file_bytes) {
  publish();
}

Result<void> NumaState::load_topology() {
  auto topo = nodepack::numa::load_topology(options_.paths);
  if (!topo) {
    topology_error_ = topo.error().message;
    spdlog::error("numa: cannot load the topology: {}", topology_error_);
    publish();
    return topo.error();
  }
  topology_ = std::make_shared<const Topology>(std::move(*topo));
  topology_error_.clear();
  if (const int limit = machine_cpu_limit(*topology_); limit != cpu_limit_) {
    cpu_limit_ = limit;
    cpu_.reparse_next();  // content read under the old bound is judged again
  }
  std::size_t with_cpus = 0;
  for (const auto& n : topology_->nodes) {
    with_cpus += n.has_cpus() ? 1 : 0;
  }
  spdlog::info("numa: {} NUMA node(s), {} with CPUs, {} online CPU(s), {} offline", topology_->nodes.size(), with_cpus,
               topology_->online_cpus.size(), topology_->offline_cpus.size());
  if (!topology_->hwloc_error.empty()) {
    spdlog::warn("numa: hwloc failed ({}): nodes, CPUs and memory come from sysfs alone, without cores or PCI devices",
                 topology_->hwloc_error);
  }
  for (const auto& v : check_invariants(*topology_).violations) {
    spdlog::warn("numa: the host's topology breaks an invariant: {}", v);
  }
  publish();
  return {};
}

bool NumaState::refresh() {
  bool changed = cpu_.refresh();
  changed = memory_.refresh() || changed;
  changed = devices_.refresh() || changed;
  // File states (read times, errors) change on every read, so always publish.
  publish();
  return changed;
}

void NumaState::rebuild() { publish(); }

void NumaState::publish() {
  auto snap = std::make_shared<NumaSnapshot>();
  snap->node_name = options_.node_name;
  snap->topology = topology_;
  snap->topology_error = topology_error_;
  static const Topology empty;
  snap->model = build_allocation(topology_ ? *topology_ : empty, cpu_.current(), memory_.current(), devices_.current(),
                                 pods_, options_.reserved_cpus);
  snap->files = {cpu_.state(), memory_.state(), devices_.state()};
  snap->built_at = clock_.now();
  snap->generation = ++generation_;
  std::lock_guard<std::mutex> lock(mu_);
  snapshot_ = std::move(snap);
}

std::shared_ptr<const NumaSnapshot> NumaState::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return snapshot_;
}

}  // namespace nodepack::numa
