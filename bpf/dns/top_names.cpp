#include "bpf/dns/top_names.hpp"

#include "bpf/map_reader.hpp"

#include <algorithm>
#include <cstdio>

namespace nodepack::bpf {

std::string dns_name_text(const dns_name& name) {
  std::string out;
  std::size_t i = 0;
  while (i < DNS_NAME_MAX && name.wire[i] != 0) {
    const std::size_t len = name.wire[i];
    if (i + 1 + len >= DNS_NAME_MAX) {
      return "";
    }
    if (!out.empty()) {
      out += '.';
    }
    for (std::size_t j = i + 1; j <= i + len; ++j) {
      const unsigned char c = name.wire[j];
      if (c > 0x20 && c < 0x7f && c != '.' && c != '\\') {
        out += static_cast<char>(c);
      } else {
        char esc[5];
        std::snprintf(esc, sizeof(esc), "\\%03u", static_cast<unsigned>(c));
        out += esc;
      }
    }
    i += 1 + len;
  }
  return out.empty() ? "." : out;
}

TopNames read_top_names(const bpf_map* map, std::size_t n) {
  TopNames top;
  if (bpf_map__key_size(map) != sizeof(dns_name) || bpf_map__value_size(map) != sizeof(std::uint64_t)) {
    return top;  // dns.h and dns.bpf.c out of step
  }
  const auto read = read_hash_map<dns_name, std::uint64_t>(bpf_map__fd(map));
  top.entries = read.size();
  for (const auto& [key, count] : read) {
    if (auto text = dns_name_text(key); !text.empty()) {
      top.names.emplace_back(std::move(text), count);
    }
  }
  auto most_first = [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  };
  const auto keep = std::min(n, top.names.size());
  std::partial_sort(top.names.begin(), top.names.begin() + static_cast<std::ptrdiff_t>(keep), top.names.end(),
                    most_first);
  top.names.resize(keep);
  return top;
}

}  // namespace nodepack::bpf
