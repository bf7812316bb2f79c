#include "numa/numa_state.hpp"

#include "numa/invariants.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

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
  podresources_.enabled = !options_.podresources_socket.empty();
  podresources_.socket = options_.podresources_socket;
  podresources_.status = podresources_.enabled ? "waiting" : "disabled";
  for (auto reason : pod_resources_errors) {
    podresources_.errors_total.emplace(std::string(to_string(reason)), 0);
  }
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

namespace {

// Why an answer cannot describe this machine, if it cannot: CPU ids it does not have, memory on
// NUMA nodes it does not have.
std::optional<std::string> answer_misfits(const PodResourcesAnswer& a, const Topology& topo) {
  const CpuSet machine = topo.online_cpus.united(topo.offline_cpus);
  auto cpus_misfit = [&](const CpuSet& cpus, const std::string& who) -> std::optional<std::string> {
    if (!cpus.is_subset_of(machine)) {
      return who + " names CPUs " + cpus.without(machine).to_string() + ", which this machine does not have (" +
             machine.to_string() + ")";
    }
    return std::nullopt;
  };
  auto memory_misfit = [&](const std::vector<MemoryBlock>& blocks,
                           const std::string& who) -> std::optional<std::string> {
    for (const auto& b : blocks) {
      for (int id : b.numa_affinity) {
        if (id < 0 || topo.find(static_cast<unsigned>(id)) == nullptr) {
          return who + " puts " + b.type + " on NUMA node " + std::to_string(id) + ", which this machine does not have";
        }
      }
    }
    return std::nullopt;
  };
  for (const auto& c : a.containers) {
    const std::string who = "container " + c.pod_namespace + "/" + c.pod_name + "/" + c.container;
    if (auto m = cpus_misfit(c.cpus, who)) {
      return m;
    }
    if (auto m = memory_misfit(c.memory, who)) {
      return m;
    }
  }
  if (a.allocatable) {
    if (auto m = cpus_misfit(a.allocatable->cpus, "GetAllocatableResources")) {
      return m;
    }
    if (auto m = memory_misfit(a.allocatable->memory, "GetAllocatableResources")) {
      return m;
    }
  }
  return std::nullopt;
}

}  // namespace

void NumaState::podresources_answered(PodResourcesAnswer answer) {
  if (topology_) {
    if (auto misfit = answer_misfits(answer, *topology_)) {
      podresources_failed(PodResourcesFailure{PodResourcesError::bad_answer, "the answer does not fit: " + *misfit});
      return;
    }
  }
  const bool recovered = podresources_.status == "failing";
  podresources_.status = "ok";
  podresources_.reason.clear();
  podresources_.detail = std::to_string(answer.containers.size()) + " containers listed" +
                         (answer.allocatable ? "" : "; GetAllocatableResources is not served");
  podresources_.last_attempt = clock_.now();
  podresources_.last_success = podresources_.last_attempt;
  ++podresources_.attempts_total;
  podresources_.allocatable_served = answer.allocatable.has_value();
  if (recovered) {
    spdlog::info("numa: pod-resources answers again on {}", podresources_.socket);
  }
  last_answer_ = std::make_shared<const PodResourcesAnswer>(std::move(answer));
  publish();
}

void NumaState::podresources_failed(const PodResourcesFailure& failure) {
  const std::string reason(to_string(failure.reason));
  // Logged and counted when the failure changes, not on every poll of a socket that stays away.
  if (podresources_.status != "failing" || podresources_.reason != reason) {
    spdlog::warn("numa: pod-resources on {}: {} ({}); using {}", podresources_.socket, reason, failure.message,
                 cpu_.current() != nullptr || memory_.current() != nullptr || devices_.current() != nullptr
                     ? "the checkpoint files"
                     : (last_answer_ ? "its last good answer" : "no account of allocations"));
  }
  podresources_.status = "failing";
  podresources_.reason = reason;
  podresources_.detail = failure.message;
  podresources_.last_attempt = clock_.now();
  ++podresources_.attempts_total;
  ++podresources_.errors_total[reason];
  publish();
}

void NumaState::publish() {
  auto snap = std::make_shared<NumaSnapshot>();
  snap->node_name = options_.node_name;
  snap->topology = topology_;
  snap->topology_error = topology_error_;
  static const Topology empty;
  AllocationInputs in;
  in.cpu = cpu_.current();
  in.memory = memory_.current();
  in.devices = devices_.current();
  const bool files_in_use = in.cpu != nullptr || in.memory != nullptr || in.devices != nullptr;
  // The last answer when it is current; the last good one only when no file says anything.
  if (last_answer_ && (podresources_.fresh() || !files_in_use)) {
    in.podresources = last_answer_.get();
    snap->podresources_answer = last_answer_;
    if (podresources_.fresh()) {
      // A file whose content the kubelet wrote after the answer was not seen by it yet.
      auto comparable = [&](const FileState& f) {
        return f.status == FileStatus::valid && f.last_good && *f.last_good <= last_answer_->taken_at;
      };
      in.compare.cpu = in.cpu != nullptr && comparable(cpu_.state());
      in.compare.memory = in.memory != nullptr && comparable(memory_.state());
      in.compare.devices = in.devices != nullptr && comparable(devices_.state());
    }
  }
  snap->model = build_allocation(topology_ ? *topology_ : empty, in, pods_, options_.reserved_cpus);
  if (in.podresources != nullptr && !podresources_.fresh()) {
    snap->model.check.not_compared_because = "pod-resources is failing: its last good answer is used";
  } else if (in.podresources != nullptr && !in.compare.cpu && !in.compare.memory && !in.compare.devices &&
             files_in_use) {
    snap->model.check.not_compared_because =
        "the checkpoint files changed after pod-resources' last answer: compared at the next one";
  }
  snap->files = {cpu_.state(), memory_.state(), devices_.state()};
  snap->podresources = podresources_;
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
