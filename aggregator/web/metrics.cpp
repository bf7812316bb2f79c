// The seed's metric tables, as the sidebar and the chart page show them.

#include "aggregator/web/web.hpp"

namespace nodepack::web {

std::vector<MetricInfo> seed_metrics() {
  // The three main metrics first: they are what usage is billed on.
  return {
      {"cpu/usage_rate", "CPU usage on all cores in millicores.", "millicores", true, "cpu/request"},
      {"memory/usage", "Total memory usage in bytes.", "bytes", true, "memory/request"},
      {"gpu/usage", "The usage of all GPUs in megabytes.", "megabytes", true, ""},
      {"cpu/limit", "CPU hard limit in millicores.", "millicores", false, ""},
      {"cpu/node_capacity", "CPU capacity of a node.", "millicores", false, ""},
      {"cpu/node_allocatable", "CPU allocatable of a node.", "millicores", false, ""},
      {"cpu/node_reservation", "Share of CPU that is reserved on the node allocatable.", "ratio", false, ""},
      {"cpu/node_utilization", "CPU utilization as a share of node allocatable.", "ratio", false, ""},
      {"cpu/request", "CPU request (the guaranteed amount of resources) in millicores.", "millicores", false, ""},
      {"cpu/usage", "Cumulative CPU usage on all cores.", "seconds", false, ""},
      {"filesystem/usage", "Total number of bytes consumed on a filesystem.", "bytes", false, ""},
      {"filesystem/limit", "The total size of the filesystem in bytes.", "bytes", false, ""},
      {"filesystem/available", "The number of available bytes remaining in the filesystem.", "bytes", false, ""},
      {"filesystem/inodes", "The number of inodes in the filesystem.", "count", false, ""},
      {"filesystem/inodes_free", "The number of free inodes remaining in the filesystem.", "count", false, ""},
      {"memory/limit", "Memory hard limit in bytes.", "bytes", false, ""},
      {"memory/major_page_faults", "Number of major page faults.", "count", false, ""},
      {"memory/major_page_faults_rate", "Number of major page faults per second.", "per_second", false, ""},
      {"memory/node_capacity", "Memory capacity of a node.", "bytes", false, ""},
      {"memory/node_allocatable", "Memory allocatable of a node.", "bytes", false, ""},
      {"memory/node_reservation", "Share of memory that is reserved on the node allocatable.", "ratio", false, ""},
      {"memory/node_utilization", "Memory utilization as a share of memory allocatable.", "ratio", false, ""},
      {"memory/page_faults", "Number of page faults.", "count", false, ""},
      {"memory/page_faults_rate", "Number of page faults per second.", "per_second", false, ""},
      {"memory/request", "Memory request (the guaranteed amount of resources) in bytes.", "bytes", false, ""},
      {"memory/cache", "Cache memory usage.", "bytes", false, ""},
      {"memory/rss", "RSS memory usage.", "bytes", false, "memory/request"},
      {"memory/working_set", "Working set: memory in use that the kernel cannot easily drop.", "bytes", false,
       "memory/request"},
      {"network/rx", "Cumulative number of bytes received over the network.", "bytes", false, ""},
      {"network/rx_errors", "Cumulative number of errors while receiving over the network.", "count", false, ""},
      {"network/rx_errors_rate", "Number of errors while receiving over the network per second.", "per_second", false,
       ""},
      {"network/rx_rate", "Number of bytes received over the network per second.", "bytes_per_second", false, ""},
      {"network/tx", "Cumulative number of bytes sent over the network.", "bytes", false, ""},
      {"network/tx_errors", "Cumulative number of errors while sending over the network.", "count", false, ""},
      {"network/tx_errors_rate", "Number of errors while sending over the network per second.", "per_second", false,
       ""},
      {"network/tx_rate", "Number of bytes sent over the network per second.", "bytes_per_second", false, ""},
      {"uptime", "Number of milliseconds since the container was started.", "milliseconds", false, ""},
  };
}

}  // namespace nodepack::web
