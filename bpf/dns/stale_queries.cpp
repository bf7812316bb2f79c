#include "bpf/dns/stale_queries.hpp"

#include "bpf/dns/dns.h"
#include "bpf/map_reader.hpp"

#include <time.h>

#include <vector>

namespace nodepack::bpf {
namespace {

// bpf_ktime_get_ns() is CLOCK_MONOTONIC.
std::uint64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace

std::size_t StaleQueries::sweep(const bpf_map* inflight, const std::unordered_set<std::uint64_t>& ended) {
  if (bpf_map__key_size(inflight) != sizeof(dns_query_key) || bpf_map__value_size(inflight) != sizeof(dns_query)) {
    return 0;  // dns.h and dns.bpf.c out of step
  }
  const int fd = bpf_map__fd(inflight);
  // Read first, then delete: deleting while walking would restart the walk.
  const auto entries = read_hash_map<dns_query_key, dns_query>(fd);
  const std::uint64_t now = monotonic_ns();
  const auto timeout = static_cast<std::uint64_t>(timeout_.count());
  std::size_t left = entries.size();
  for (const auto& [key, q] : entries) {
    const bool stale = now >= q.start_ns && now - q.start_ns > timeout;
    if (!stale && !ended.contains(q.cgid)) {
      continue;
    }
    // Fails when the answer's program deleted it first, and counted it.
    if (bpf_map_delete_elem(fd, &key) == 0) {
      ++timeouts_[q.cgid];
    }
    --left;  // gone either way
  }
  return left;
}

void StaleQueries::forget(const std::unordered_set<std::uint64_t>& removed) {
  std::erase_if(timeouts_, [&](const auto& kv) { return removed.contains(kv.first); });
}

}  // namespace nodepack::bpf
