#include "aggregator/billing/catalogue.hpp"

namespace nodepack::billing {
namespace {

using K = MetricKind;
using L = MetricLevel;

constexpr std::string_view inodes_missing = "filesystem inodes are not collected by nodepack";

}  // namespace

const std::vector<MetricDef>& catalogue() {
  static const std::vector<MetricDef> metrics{
      {"cpu/usage_rate", "millicores", K::rate, L::container, true, "kpod_cpu_usage_seconds_total", " * 1000",
       "CPU usage on all cores in millicores."},
      {"cpu/usage", "core-seconds", K::cumulative, L::container, false, "kpod_cpu_usage_seconds_total", "",
       "Cumulative CPU usage on all cores."},
      {"cpu/request", "millicores", K::gauge, L::container, false, "nodepack_container_cpu_request_cores", " * 1000",
       "CPU request (the guaranteed amount of resources) in millicores."},
      {"cpu/limit", "millicores", K::gauge, L::container, false, "nodepack_container_cpu_limit_cores", " * 1000",
       "CPU hard limit in millicores."},
      // Capacity is the hardware the agent's hwloc topology counts (numainfo_*, summed over NUMA
      // nodes): logical CPUs and physical memory, as the kubelet reports node capacity.
      {"cpu/node_capacity", "millicores", K::gauge, L::node, false,
       "sum by (node) (numainfo_core_count{type=\"capacity\"})", " * 1000", "Cpu capacity of a node."},
      {"cpu/node_allocatable", "millicores", K::gauge, L::node, false,
       "sum by (node) (kube_binpacking_node_allocatable{resource=\"cpu\"})", " * 1000", "Cpu allocatable of a node."},
      {"cpu/node_reservation", "ratio", K::gauge, L::node, false,
       "sum by (node) (kube_binpacking_node_utilization_ratio{resource=\"cpu\"})", "",
       "Share of cpu that is reserved on the node allocatable."},
      {"cpu/node_utilization", "ratio", K::gauge, L::node, false,
       "sum by (node) (rate(kpod_cpu_usage_seconds_total[$w])) / on (node) sum by (node) "
       "(kube_binpacking_node_allocatable{resource=\"cpu\"})",
       "", "CPU utilization as a share of node allocatable."},
      {"filesystem/usage", "bytes", K::gauge, L::container, false, "kpod_fs_usage_bytes", "",
       "Total number of bytes consumed on a filesystem."},
      {"filesystem/limit", "bytes", K::gauge, L::container, false, "kpod_fs_capacity_bytes", "",
       "The total size of filesystem in bytes."},
      {"filesystem/available", "bytes", K::gauge, L::container, false, "kpod_fs_available_bytes", "",
       "The number of available bytes remaining in a the filesystem."},
      {"filesystem/inodes", "inodes", K::gauge, L::container, false, "", "",
       "The number of available inodes in a the filesystem.", inodes_missing},
      {"filesystem/inodes_free", "inodes", K::gauge, L::container, false, "", "",
       "The number of free inodes remaining in a the filesystem.", inodes_missing},
      {"gpu/usage", "megabytes", K::gauge, L::container, true, "nodepack_container_gpu_memory_used_bytes", " / 1e6",
       "The usage of all gpus in megabytes."},
      {"memory/limit", "bytes", K::gauge, L::container, false, "nodepack_container_memory_limit_bytes", "",
       "Memory hard limit in bytes."},
      {"memory/major_page_faults", "faults", K::cumulative, L::container, false, "kpod_mem_major_page_faults_total", "",
       "Number of major page faults."},
      {"memory/major_page_faults_rate", "faults/s", K::rate, L::container, false, "kpod_mem_major_page_faults_total",
       "", "Number of major page faults per second."},
      {"memory/node_capacity", "bytes", K::gauge, L::node, false,
       "sum by (node) (numainfo_memory_bytes{type=\"capacity\"})", "", "Memory capacity of a node."},
      {"memory/node_allocatable", "bytes", K::gauge, L::node, false,
       "sum by (node) (kube_binpacking_node_allocatable{resource=\"memory\"})", "", "Memory allocatable of a node."},
      {"memory/node_reservation", "ratio", K::gauge, L::node, false,
       "sum by (node) (kube_binpacking_node_utilization_ratio{resource=\"memory\"})", "",
       "Share of memory that is reserved on the node allocatable."},
      {"memory/node_utilization", "ratio", K::gauge, L::node, false,
       "sum by (node) (kpod_mem_cgroup_usage_bytes) / on (node) sum by (node) "
       "(kube_binpacking_node_allocatable{resource=\"memory\"})",
       "", "Memory utilization as a share of memory allocatable."},
      {"memory/page_faults", "faults", K::cumulative, L::container, false, "kpod_mem_page_faults_total", "",
       "Number of page faults."},
      {"memory/page_faults_rate", "faults/s", K::rate, L::container, false, "kpod_mem_page_faults_total", "",
       "Number of page faults per second."},
      {"memory/request", "bytes", K::gauge, L::container, false, "nodepack_container_memory_request_bytes", "",
       "Memory request (the guaranteed amount of resources) in bytes."},
      {"memory/usage", "bytes", K::gauge, L::container, true, "kpod_mem_cgroup_usage_bytes", "",
       "Total memory usage in bytes."},
      {"memory/cache", "bytes", K::gauge, L::container, false, "kpod_mem_cgroup_cache_bytes", "",
       "Cache memory usage."},
      {"memory/rss", "bytes", K::gauge, L::container, false, "kpod_mem_cgroup_rss_bytes", "", "RSS memory usage."},
      {"memory/working_set", "bytes", K::gauge, L::container, false, "kpod_mem_cgroup_working_set_bytes", "",
       "Total working set usage: memory in use that the kernel cannot easily drop."},
      {"network/rx", "bytes", K::cumulative, L::pod, false, "kpod_net_iface_rx_bytes_total", "",
       "Cumulative number of bytes received over the network."},
      {"network/rx_errors", "errors", K::cumulative, L::pod, false, "kpod_net_iface_rx_errors_total", "",
       "Cumulative number of errors while receiving over the network."},
      {"network/rx_errors_rate", "errors/s", K::rate, L::pod, false, "kpod_net_iface_rx_errors_total", "",
       "Number of errors while receiving over the network per second."},
      {"network/rx_rate", "bytes/s", K::rate, L::pod, false, "kpod_net_iface_rx_bytes_total", "",
       "Number of bytes received over the network per second."},
      {"network/tx", "bytes", K::cumulative, L::pod, false, "kpod_net_iface_tx_bytes_total", "",
       "Cumulative number of bytes sent over the network."},
      {"network/tx_errors", "errors", K::cumulative, L::pod, false, "kpod_net_iface_tx_errors_total", "",
       "Cumulative number of errors while sending over the network."},
      {"network/tx_errors_rate", "errors/s", K::rate, L::pod, false, "kpod_net_iface_tx_errors_total", "",
       "Number of errors while sending over the network per second."},
      {"network/tx_rate", "bytes/s", K::rate, L::pod, false, "kpod_net_iface_tx_bytes_total", "",
       "Number of bytes sent over the network per second."},
      {"uptime", "milliseconds", K::gauge, L::container, false, "nodepack_container_uptime_seconds", " * 1000",
       "Number of milliseconds since the container was started."},
  };
  return metrics;
}

const MetricDef* find_metric(std::string_view name) {
  for (const auto& m : catalogue()) {
    if (m.name == name) {
      return &m;
    }
  }
  return nullptr;
}

std::string unknown_metric_hint(std::string_view name) {
  if (name == "gpu/usage_rate" || name.starts_with("gpu/usage_rate/")) {
    return "gpu/usage_rate appears in Kube-App's README but in neither of its metric tables, and nodepack has no "
           "such metric: GPU usage is gpu/usage (GPU memory in use, megabytes); GPU time allocated, for billing, is "
           "gpu_hours in /api/v1/accounting.";
  }
  return "";
}

std::string_view kind_name(MetricKind kind) {
  switch (kind) {
    case MetricKind::rate:
      return "rate";
    case MetricKind::cumulative:
      return "cumulative";
    case MetricKind::gauge:
      break;
  }
  return "gauge";
}

std::string_view level_name(MetricLevel level) {
  switch (level) {
    case MetricLevel::pod:
      return "pod";
    case MetricLevel::node:
      return "node";
    case MetricLevel::container:
      break;
  }
  return "container";
}

}  // namespace nodepack::billing
