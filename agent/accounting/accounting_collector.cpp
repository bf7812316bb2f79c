#include "agent/accounting/accounting_collector.hpp"

#include "agent/accounting/accounting_source.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

namespace nodepack::agent::accounting {

using metrics::LabelRef;

namespace {

double seconds_since_epoch(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace

void AccountingCollector::collect(metrics::FamilyOutput& out) const {
  const auto now = source_.now();
  const std::string& node = source_.options().node;
  const AccountingStatus status = source_.status();

  out.omit_empty_families();
  auto& cpu_requested = out.counter("nodepack_container_cpu_requested_core_seconds_total",
                                    "CPU requested by the container, integrated over time (core-seconds)");
  auto& cpu_limited = out.counter("nodepack_container_cpu_limited_core_seconds_total",
                                  "CPU limit of the container, integrated over time (core-seconds)");
  auto& memory_requested = out.counter("nodepack_container_memory_requested_byte_seconds_total",
                                       "Memory requested by the container, integrated over time (byte-seconds)");
  auto& memory_used = out.counter("nodepack_container_memory_used_byte_seconds_total",
                                  "memory.current of the container, integrated over samples (byte-seconds)");
  auto& gpu_seconds = out.counter("nodepack_container_gpu_allocated_seconds_total",
                                  "Devices allocated to the container by the device manager, times seconds");
  auto& cpu_request = out.gauge("nodepack_container_cpu_request_cores", "CPU request the container holds now");
  auto& cpu_limit = out.gauge("nodepack_container_cpu_limit_cores", "CPU limit of the container now");
  auto& memory_request = out.gauge("nodepack_container_memory_request_bytes", "Memory request the container holds now");
  auto& memory_limit = out.gauge("nodepack_container_memory_limit_bytes", "Memory limit of the container now");
  auto& gpus = out.gauge("nodepack_container_gpus_allocated", "Devices allocated to the container now");
  auto& uptime = out.gauge("nodepack_container_uptime_seconds", "Seconds since the container's current run started");
  auto& gpu_memory =
      out.gauge("nodepack_container_gpu_memory_used_bytes", "GPU memory used by the container's processes (NVML)");

  metrics::LabelSet container;  // each account's labels, written once for its dozen series
  const FinishedLines::Streams integrals{&cpu_requested, &cpu_limited, &memory_requested, &memory_used, &gpu_seconds};
  const bool keep_finished = out.is_text();
  std::unique_lock finished_lock(finished_mutex_, std::defer_lock);
  if (keep_finished) {
    finished_lock.lock();
    finished_.begin();
  }
  source_.integrator().for_each_account(now, [&](const ContainerAccount& a) {
    const LabelRef refs[] = {
        {"namespace", a.namespace_name}, {"pod", a.pod}, {"container", a.container}, {"node", node}};
    bool labels_written = false;
    const auto labels = [&]() -> const metrics::LabelSet& {
      if (!labels_written) {
        out.set_labels(container, refs);
        labels_written = true;
      }
      return container;
    };
    const auto write_integrals = [&] {
      cpu_requested.add(labels(), a.cpu_requested.value());
      if (a.has_cpu_limit) {
        cpu_limited.add(labels(), a.cpu_limited.value());
      }
      memory_requested.add(labels(), a.memory_requested.value());
      if (a.has_memory_used) {
        memory_used.add(labels(), a.memory_used.value());
      }
      for (const auto& [resource, value] : a.gpu_seconds) {
        gpu_seconds.add(labels(), {"resource", resource}, value.value());
      }
    };
    if (keep_finished && a.ended && !a.charging) {
      finished_.write(a, integrals, write_integrals);
    } else {
      write_integrals();
    }
    if (a.charging) {
      cpu_request.add(labels(), a.rates.cpu_request.as_double());
      if (a.rates.cpu_limit) {
        cpu_limit.add(labels(), a.rates.cpu_limit->as_double());
      }
      memory_request.add(labels(), a.rates.memory_request.as_double());
      if (a.rates.memory_limit) {
        memory_limit.add(labels(), a.rates.memory_limit->as_double());
      }
      for (const auto& [resource, count] : a.rates.gpus) {
        gpus.add(labels(), {"resource", resource}, static_cast<double>(count));
      }
    }
    if (a.running_since && !a.ended) {
      uptime.add(labels(), std::max(0.0, std::chrono::duration<double>(now - *a.running_since).count()));
    }
    if (status.gpu_memory.empty()) {
      return;  // no NVML figures: no key to copy for a lookup
    }
    if (auto it = status.gpu_memory.find(ContainerKey{a.pod_uid, a.container}); it != status.gpu_memory.end()) {
      for (const auto& [gpu, bytes] : it->second) {
        gpu_memory.add(labels(), {"gpu", gpu}, static_cast<double>(bytes));
      }
    }
  });
  if (keep_finished) {
    finished_.end();
    finished_lock.unlock();
  }

  auto& start_time = out.gauge("nodepack_accounting_start_time_seconds",
                               "Unix time this agent's accounting counters started counting (restart marker)");
  start_time.add({{"node", node}}, seconds_since_epoch(status.started));
  auto& restored = out.gauge("nodepack_accounting_restored_containers",
                             "Containers whose counters were resumed from the state file at start");
  restored.add({{"node", node}}, static_cast<double>(status.restored_containers));
  auto& nvml_up = out.gauge("nodepack_accounting_nvml_up", "1 when the NVML library loaded and initialised");
  nvml_up.add({{"node", node}}, status.nvml_up ? 1 : 0);
  auto& memory_up = out.gauge("nodepack_accounting_memory_sampling_up",
                              "1 when container memory.current is sampled for used byte-seconds");
  memory_up.add({{"node", node}}, status.memory_sampling_up ? 1 : 0);
  auto& state_errors = out.counter(
      "nodepack_accounting_state_file_errors_total",
      "State file reads (at start) and writes that failed, and restores whose times were ahead of the clock");
  state_errors.add({{"node", node}, {"operation", "read"}}, static_cast<double>(status.state_read_errors));
  state_errors.add({{"node", node}, {"operation", "write"}}, static_cast<double>(status.state_write_errors));
  state_errors.add({{"node", node}, {"operation", "restore"}}, static_cast<double>(status.state_restore_errors));
}

}  // namespace nodepack::agent::accounting
