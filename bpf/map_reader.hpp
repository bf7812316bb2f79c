#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace nodepack::bpf {

// Number of per-CPU slots in a per-CPU map value (possible CPUs, not online ones).
int possible_cpus();

// Reads every (key, value) of a hash map. Keys added or evicted while reading may be missed or
// seen once; a scrape is a sample, so that is fine.
template <class K, class V>
std::vector<std::pair<K, V>> read_hash_map(int fd) {
  std::vector<std::pair<K, V>> out;
  K key{};
  K next{};
  const K* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    V value{};
    if (bpf_map_lookup_elem(fd, &next, &value) == 0) {
      out.emplace_back(next, value);
    }
    key = next;
    prev = &key;
  }
  return out;
}

// Reads a per-CPU hash map and folds the CPUs of each key with `fold(acc, per_cpu_value)`.
template <class K, class V, class Acc, class Fold>
std::vector<std::pair<K, Acc>> read_percpu_hash_map(int fd, Fold fold) {
  static_assert(sizeof(V) % 8 == 0, "per-CPU values are laid out at 8-byte strides");
  std::vector<std::pair<K, Acc>> out;
  std::vector<V> values(static_cast<std::size_t>(possible_cpus()));
  K key{};
  K next{};
  const K* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    if (bpf_map_lookup_elem(fd, &next, values.data()) == 0) {
      Acc acc{};
      for (const auto& v : values) {
        fold(acc, v);
      }
      out.emplace_back(next, std::move(acc));
    }
    key = next;
    prev = &key;
  }
  return out;
}

}  // namespace nodepack::bpf
