#include "agent/accounting/accounting_collector.hpp"

#include "agent/accounting/accounting_source.hpp"
#include "metrics/family.hpp"

#include <chrono>
#include <string>

namespace nodepack::agent::accounting {

using metrics::Family;

namespace {

double seconds_since_epoch(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace

std::vector<prometheus::MetricFamily> AccountingCollector::Collect() const {
  const auto now = source_.now();
  const std::string& node = source_.options().node;
  const AccountingStatus status = source_.status();

  auto cpu_requested = Family::counter("nodepack_container_cpu_requested_core_seconds_total",
                                       "CPU requested by the container, integrated over time (core-seconds)");
  auto cpu_limited = Family::counter("nodepack_container_cpu_limited_core_seconds_total",
                                     "CPU limit of the container, integrated over time (core-seconds)");
  auto memory_requested = Family::counter("nodepack_container_memory_requested_byte_seconds_total",
                                          "Memory requested by the container, integrated over time (byte-seconds)");
  auto memory_used = Family::counter("nodepack_container_memory_used_byte_seconds_total",
                                     "memory.current of the container, integrated over samples (byte-seconds)");
  auto gpu_seconds = Family::counter("nodepack_container_gpu_allocated_seconds_total",
                                     "Devices allocated to the container by the device manager, times seconds");
  auto cpu_request = Family::gauge("nodepack_container_cpu_request_cores", "CPU request the container holds now");
  auto cpu_limit = Family::gauge("nodepack_container_cpu_limit_cores", "CPU limit of the container now");
  auto memory_request =
      Family::gauge("nodepack_container_memory_request_bytes", "Memory request the container holds now");
  auto memory_limit = Family::gauge("nodepack_container_memory_limit_bytes", "Memory limit of the container now");
  auto gpus = Family::gauge("nodepack_container_gpus_allocated", "Devices allocated to the container now");
  auto uptime = Family::gauge("nodepack_container_uptime_seconds", "Seconds since the container's current run started");
  auto gpu_memory =
      Family::gauge("nodepack_container_gpu_memory_used_bytes", "GPU memory used by the container's processes (NVML)");

  source_.integrator().for_each_account(now, [&](const ContainerAccount& a) {
    auto labels = [&](std::initializer_list<metrics::Label> extra = {}) {
      metrics::Labels l{{"namespace", a.namespace_name}, {"pod", a.pod}, {"container", a.container}, {"node", node}};
      l.insert(l.end(), extra.begin(), extra.end());
      return l;
    };
    auto add = [](Family& f, metrics::Labels l, double v) { f.add(std::move(l), v); };
    add(cpu_requested, labels(), a.cpu_requested.value());
    if (a.has_cpu_limit) {
      add(cpu_limited, labels(), a.cpu_limited.value());
    }
    add(memory_requested, labels(), a.memory_requested.value());
    if (a.has_memory_used) {
      add(memory_used, labels(), a.memory_used.value());
    }
    for (const auto& [resource, value] : a.gpu_seconds) {
      add(gpu_seconds, labels({{"resource", resource}}), value.value());
    }
    if (a.charging) {
      add(cpu_request, labels(), a.rates.cpu_request.as_double());
      if (a.rates.cpu_limit) {
        add(cpu_limit, labels(), a.rates.cpu_limit->as_double());
      }
      add(memory_request, labels(), a.rates.memory_request.as_double());
      if (a.rates.memory_limit) {
        add(memory_limit, labels(), a.rates.memory_limit->as_double());
      }
      for (const auto& [resource, count] : a.rates.gpus) {
        add(gpus, labels({{"resource", resource}}), static_cast<double>(count));
      }
    }
    if (a.running_since && !a.ended) {
      add(uptime, labels(), std::max(0.0, std::chrono::duration<double>(now - *a.running_since).count()));
    }
    if (auto it = status.gpu_memory.find(ContainerKey{a.pod_uid, a.container}); it != status.gpu_memory.end()) {
      for (const auto& [gpu, bytes] : it->second) {
        add(gpu_memory, labels({{"gpu", gpu}}), static_cast<double>(bytes));
      }
    }
  });

  auto start_time = Family::gauge("nodepack_accounting_start_time_seconds",
                                  "Unix time this agent's accounting counters started counting (restart marker)");
  start_time.add({{"node", node}}, seconds_since_epoch(status.started));
  auto restored = Family::gauge("nodepack_accounting_restored_containers",
                                "Containers whose counters were resumed from the state file at start");
  restored.add({{"node", node}}, static_cast<double>(status.restored_containers));
  auto nvml_up = Family::gauge("nodepack_accounting_nvml_up", "1 when the NVML library loaded and initialised");
  nvml_up.add({{"node", node}}, status.nvml_up ? 1 : 0);
  auto memory_up = Family::gauge("nodepack_accounting_memory_sampling_up",
                                 "1 when container memory.current is sampled for used byte-seconds");
  memory_up.add({{"node", node}}, status.memory_sampling_up ? 1 : 0);
  auto state_errors = Family::counter(
      "nodepack_accounting_state_file_errors_total",
      "State file reads (at start) and writes that failed, and restores whose times were ahead of the clock");
  state_errors.add({{"node", node}, {"operation", "read"}}, static_cast<double>(status.state_read_errors));
  state_errors.add({{"node", node}, {"operation", "write"}}, static_cast<double>(status.state_write_errors));
  state_errors.add({{"node", node}, {"operation", "restore"}}, static_cast<double>(status.state_restore_errors));

  std::vector<prometheus::MetricFamily> out;
  for (auto* f : {&cpu_requested, &cpu_limited, &memory_requested, &memory_used, &gpu_seconds, &cpu_request, &cpu_limit,
                  &memory_request, &memory_limit, &gpus, &uptime, &gpu_memory, &start_time, &restored, &nvml_up,
                  &memory_up, &state_errors}) {
    if (!f->empty()) {
      std::move(*f).into(out);
    }
  }
  return out;
}

}  // namespace nodepack::agent::accounting
