#include "agent/accounting/accounting_source.hpp"

#include "agent/accounting/accounting_collector.hpp"
#include "agent/accounting/state_file.hpp"
#include "cgroup/kubelet_names.hpp"
#include "cgroup/process_cgroup.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace nodepack::agent::accounting {

AccountingSource::AccountingSource(const NodeState& state, AccountingOptions options, cgroup::CgroupResolver* cgroups,
                                   std::string no_cgroups, const Clock& clock)
    : state_(state),
      options_(std::move(options)),
      cgroups_(cgroups),
      no_cgroups_(std::move(no_cgroups)),
      clock_(clock),
      integrator_(options_.retention),
      gpus_(options_.paths.kubelet_root, options_.gpu_resources, clock) {
  status_.started = clock_.now();
  collector_ = std::make_shared<AccountingCollector>(*this);
}

AccountingSource::~AccountingSource() = default;

void AccountingSource::start() {
  load_state();

  auto nvml = Nvml::load(options_.nvml_library);
  if (nvml) {
    nvml_ = std::move(*nvml);
    spdlog::info("accounting: NVML loaded from {} ({} GPUs): GPU memory per container", options_.nvml_library,
                 nvml_->device_count());
  } else {
    spdlog::info("accounting: no GPU memory per container: {}", nvml.error().message);
  }

  if (cgroups_ != nullptr) {
    memory_ = std::make_unique<MemorySampler>(*cgroups_, [this] { return state_.pods().totals().generation; });
  } else {
    spdlog::warn("accounting: no memory used byte-seconds: {}", no_cgroups_);
  }
  std::lock_guard lock(mutex_);
  status_.nvml_up = nvml_ != nullptr;
  status_.memory_sampling_up = memory_ != nullptr;
}

void AccountingSource::load_state() {
  if (options_.state_file.empty()) {
    return;
  }
  auto loaded = read_state_file(options_.state_file);
  if (loaded && !*loaded) {
    spdlog::info("accounting: no state file at {} yet: counters start from zero", options_.state_file.string());
    return;
  }
  if (loaded && (*loaded)->node != options_.node) {
    spdlog::warn("accounting: state file {} is for node {}, not {}: ignored", options_.state_file.string(),
                 (*loaded)->node, options_.node);
    return;
  }
  if (loaded) {
    spdlog::info("accounting: resuming {} containers' counters from {}", (*loaded)->containers.size(),
                 options_.state_file.string());
    const auto report = integrator_.set_restore(std::move((*loaded)->containers), clock_.now());
    if (report.clamped > 0) {
      spdlog::error(
          "accounting: state file {}: {} containers were integrated up to {:.3f} s ahead of this clock (it stepped "
          "back, or the file was written on another clock); they resume from now instead, so their counters do not "
          "stop until the clock catches up",
          options_.state_file.string(), report.clamped, std::chrono::duration<double>(report.ahead).count());
      std::lock_guard lock(mutex_);
      ++status_.state_restore_errors;
    }
    return;
  }
  // Starting from zero is a counter reset, which increase() handles; keeping the bad file in
  // place would overwrite the evidence at the next write, so it is moved aside.
  const auto aside =
      options_.state_file.string() + ".corrupt-" +
      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count());
  std::error_code ec;
  std::filesystem::rename(options_.state_file, aside, ec);
  spdlog::error("accounting: cannot use the state file: {}; counters start from zero ({})", loaded.error().message,
                ec ? "could not move it aside: " + ec.message() : "moved to " + aside);
  std::lock_guard lock(mutex_);
  status_.state_load_failed = true;
  ++status_.state_read_errors;
}

void AccountingSource::save_state() {
  if (options_.state_file.empty()) {
    return;
  }
  StoredState state;
  state.node = options_.node;
  state.written = clock_.now();
  state.containers = integrator_.to_store(state.written);
  if (auto written = write_state_file(options_.state_file, state); !written) {
    spdlog::error("accounting: {}", written.error().message);
    std::lock_guard lock(mutex_);
    ++status_.state_write_errors;
  }
}

void AccountingSource::pod_upserted(const kube::Pod& pod) {
  if (integrator_.pod_upserted(pod, clock_.now())) {
    save_state();
  }
}

void AccountingSource::pod_removed(const std::string& uid) {
  if (integrator_.pod_removed(uid, clock_.now())) {
    save_state();
  }
}

void AccountingSource::pods_replaced(const std::vector<kube::Pod>& pods) {
  const bool changed = integrator_.pods_replaced(pods, clock_.now());
  {
    std::lock_guard lock(mutex_);
    status_.restored_containers = integrator_.restored_count();
  }
  if (changed) {
    save_state();
  }
}

std::optional<ContainerKey> AccountingSource::container_by_id(const std::string& pod_uid,
                                                              const std::string& container_id) const {
  auto stored = state_.pods().find(pod_uid);
  if (!stored) {
    return std::nullopt;
  }
  for (const auto* statuses : {&stored->pod.container_statuses, &stored->pod.init_container_statuses}) {
    for (const auto& s : *statuses) {
      if (!s.container_id.empty() && cgroup::strip_runtime_prefix(s.container_id) == container_id) {
        return ContainerKey{pod_uid, s.name};
      }
    }
  }
  return std::nullopt;
}

void AccountingSource::sample_nvml() {
  std::map<ContainerKey, std::map<std::string, std::uint64_t>> usage;
  if (nvml_) {
    auto processes = nvml_->compute_processes();
    if (!processes) {
      spdlog::warn("accounting: NVML: {}", processes.error().message);
    } else {
      for (const auto& p : *processes) {
        auto cgroup = cgroup::container_of_process(options_.paths.procfs, p.pid);
        if (!cgroup) {
          continue;  // not a pod's process, or gone already
        }
        if (auto key = container_by_id(cgroup->pod_uid, cgroup->container_id)) {
          usage[*key][p.gpu_uuid] += p.used_bytes;
        }
      }
    }
  }
  std::lock_guard lock(mutex_);
  status_.gpu_memory = std::move(usage);
}

void AccountingSource::tick() {
  const auto now = clock_.now();
  integrator_.set_gpu_allocations(gpus_.read(), now);
  if (memory_) {
    integrator_.add_memory_round(memory_->sample(), now);
  }
  sample_nvml();
  // Written after every sample so the stored memory integral is the one last exported: a resumed
  // counter must never be below a value Prometheus already saw (increase() would read a reset).
  save_state();
}

boost::asio::awaitable<void> AccountingSource::run() {
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
  for (;;) {
    tick();
    timer.expires_after(options_.sample_interval);
    co_await timer.async_wait(boost::asio::use_awaitable);
  }
}

void AccountingSource::stop() {
  if (stopped_) {
    return;
  }
  stopped_ = true;
  save_state();
}

boost::json::value AccountingSource::debug_json() const { return accounts_json(integrator_.snapshot(clock_.now())); }

AccountingStatus AccountingSource::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

}  // namespace nodepack::agent::accounting
