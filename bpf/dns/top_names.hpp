#pragma once

// The node's most asked DNS names (--kpod.dns.top-names): the kernel counts queries per question
// name in the `names` map (bounded, least recently asked names evicted first); user space reads
// it at a scrape and keeps the N largest.

#include "bpf/dns/dns.h"

#include <bpf/libbpf.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace nodepack::bpf {

// "ok.test" from the wire format the kernel keeps ("\2ok\4test\0"), bytes outside printable
// ASCII and the dot as \DDD (dig's escapes); "." for the root; "" when the labels overrun it.
std::string dns_name_text(const dns_name& name);

// The `n` names with the most queries, most first (ties by name), and how many entries the map
// holds.
struct TopNames {
  std::vector<std::pair<std::string, std::uint64_t>> names;
  std::size_t entries = 0;
};
TopNames read_top_names(const bpf_map* map, std::size_t n);

}  // namespace nodepack::bpf
