#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

namespace nodepack::bpf {

// Number of per-CPU slots in a per-CPU map value (possible CPUs, not online ones).
int possible_cpus();

namespace detail {

// Visits every entry of a map a batch of keys per system call (BPF_MAP_LOOKUP_BATCH, kernel 5.6):
// visit(const K& key, const unsigned char* value), `value_bytes` being one key's value as the
// kernel copies it out (for per-CPU maps, every possible CPU's slot at an 8-byte stride). Returns
// false when the kernel or the map type has no batch lookup, or a batch failed part way; the
// caller then starts again a key at a time. Reading a key at a time costs two system calls per
// key: a per-CPU map of 1,000 cgroups took 625 us that way and 117 us in batches (bench_bpf).
template <class K, class Visit>
bool visit_in_batches(int fd, std::size_t value_bytes, Visit&& visit) {
  // Enough keys per call that a few calls read a node's maps, few enough that the buffers stay
  // small with many CPUs (64 KiB of values); at least 32, as a hash map returns a whole bucket
  // per call or ENOSPC.
  const std::size_t batch = std::clamp<std::size_t>((64 * 1024) / std::max<std::size_t>(value_bytes, 1), 32, 256);
  std::vector<K> keys(batch);
  std::vector<unsigned char> values(batch * value_bytes);
  // The position tokens: a key's size for most maps, 4 bytes for hash maps.
  alignas(8) unsigned char token[sizeof(K) < 8 ? 8 : sizeof(K)] = {};
  bool first = true;
  for (;;) {
    auto count = static_cast<__u32>(batch);
    const int rc =
        bpf_map_lookup_batch(fd, first ? nullptr : token, token, keys.data(), values.data(), &count, nullptr);
    const bool done = rc != 0 && errno == ENOENT;
    if (rc != 0 && !done) {
      return false;  // EINVAL/ENOTSUPP (no batch lookup here), ENOSPC, EFAULT
    }
    if (!done && count == 0) {
      return false;  // no progress and no end: never loop on it
    }
    for (__u32 i = 0; i < count; ++i) {
      visit(keys[i], values.data() + i * value_bytes);
    }
    if (done) {
      return true;
    }
    first = false;
  }
}

// Visits every entry a key at a time: two system calls per key, with any map type.
template <class K, class Visit>
void visit_key_at_a_time(int fd, std::size_t value_bytes, Visit&& visit) {
  std::vector<unsigned char> value(value_bytes);
  K key{};
  K next{};
  const K* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    if (bpf_map_lookup_elem(fd, &next, value.data()) == 0) {
      visit(next, value.data());
    }
    key = next;
    prev = &key;
  }
}

// Visits every entry, in batches where the kernel can, else a key at a time; `restart()` is called
// before a key-at-a-time read that follows a failed batch, to drop what the batches visited.
template <class K, class Visit, class Restart>
void visit_entries(int fd, std::size_t value_bytes, Visit&& visit, Restart&& restart) {
  if (!visit_in_batches<K>(fd, value_bytes, visit)) {
    restart();
    visit_key_at_a_time<K>(fd, value_bytes, visit);
  }
}

}  // namespace detail

// Reads every (key, value) of a hash map. Keys added or evicted while reading may be missed or
// seen once; a scrape is a sample, so that is fine.
template <class K, class V>
std::vector<std::pair<K, V>> read_hash_map(int fd) {
  std::vector<std::pair<K, V>> out;
  detail::visit_entries<K>(
      fd, sizeof(V),
      [&](const K& key, const unsigned char* value) {
        V v;
        std::memcpy(&v, value, sizeof(V));
        out.emplace_back(key, v);
      },
      [&] { out.clear(); });
  return out;
}

// Reads a per-CPU hash map and folds the CPUs of each key with `fold(acc, per_cpu_value)`.
template <class K, class V, class Acc, class Fold>
std::vector<std::pair<K, Acc>> read_percpu_hash_map(int fd, Fold fold) {
  static_assert(sizeof(V) % 8 == 0, "per-CPU values are laid out at 8-byte strides");
  std::vector<std::pair<K, Acc>> out;
  std::vector<V> values(static_cast<std::size_t>(possible_cpus()));
  const std::size_t value_bytes = values.size() * sizeof(V);
  detail::visit_entries<K>(
      fd, value_bytes,
      [&](const K& key, const unsigned char* per_cpu) {
        std::memcpy(values.data(), per_cpu, value_bytes);
        Acc acc{};
        for (const auto& v : values) {
          fold(acc, v);
        }
        out.emplace_back(key, std::move(acc));
      },
      [&] { out.clear(); });
  return out;
}

// Reads indices [first, first + count) of a per-CPU array: index first + i's value on CPU c
// (possible CPUs, in order) at [i * possible_cpus() + c], zeros where an index could not be read.
// A batch of indices per system call where the kernel has batch lookup (5.6), else an index at a
// time.
template <class V>
std::vector<V> read_percpu_array_range(int fd, std::uint32_t first, std::uint32_t count) {
  static_assert(sizeof(V) % 8 == 0, "per-CPU values are laid out at 8-byte strides");
  const auto cpus = static_cast<std::size_t>(possible_cpus());
  std::vector<V> out(count * cpus);
  const std::uint32_t batch =
      std::clamp<std::uint32_t>(static_cast<std::uint32_t>((64 * 1024) / (cpus * sizeof(V))), 1, 256);
  std::vector<std::uint32_t> keys(batch);
  // The kernel resumes a batch after the key it is given (the last one it returned), or at 0.
  std::uint32_t token = first - 1;
  std::uint32_t read = 0;
  while (read < count) {
    auto n = std::min(batch, count - read);
    // The kernel writes the values in place: index `first + read + i` lands at its own position.
    const int rc = bpf_map_lookup_batch(fd, first + read == 0 ? nullptr : &token, &token, keys.data(),
                                        out.data() + std::size_t{read} * cpus, &n, nullptr);
    if ((rc != 0 && errno != ENOENT) || n == 0) {
      break;  // no batch lookup here (or it stopped short): the rest an index at a time
    }
    read += n;
    if (rc != 0) {
      break;  // ENOENT: the array ends
    }
  }
  for (; read < count; ++read) {
    const std::uint32_t index = first + read;
    bpf_map_lookup_elem(fd, &index, out.data() + std::size_t{read} * cpus);
  }
  return out;
}

// The given indices of a per-CPU array (ascending, each once): index indices[k]'s value on CPU c
// at [k * possible_cpus() + c]. Neighbours share a system call: a run of indices at most
// `max_gap` apart is read as one range, the unused indices between them along (a batched index
// costs about half of a call of its own: bench_bpf's ReadSlots).
template <class V>
std::vector<V> read_percpu_array_indices(int fd, const std::vector<std::uint32_t>& indices, std::uint32_t max_gap = 2) {
  const auto cpus = static_cast<std::size_t>(possible_cpus());
  std::vector<V> out(indices.size() * cpus);
  for (std::size_t first = 0; first < indices.size();) {
    std::size_t last = first;
    while (last + 1 < indices.size() && indices[last + 1] - indices[last] <= max_gap) {
      ++last;
    }
    if (first == last) {  // alone: one lookup, straight into place (cheaper than a batch of one)
      bpf_map_lookup_elem(fd, &indices[first], out.data() + first * cpus);
      ++first;
      continue;
    }
    const auto run = read_percpu_array_range<V>(fd, indices[first], indices[last] - indices[first] + 1);
    for (std::size_t k = first; k <= last; ++k) {
      const auto at = std::size_t{indices[k] - indices[first]} * cpus;
      std::copy_n(run.begin() + static_cast<std::ptrdiff_t>(at), cpus,
                  out.begin() + static_cast<std::ptrdiff_t>(k * cpus));
    }
    first = last + 1;
  }
  return out;
}

// Indices [0, count) of a per-CPU array, laid out as read_percpu_array_range's.
template <class V>
std::vector<V> read_percpu_array_prefix(int fd, std::uint32_t count) {
  return read_percpu_array_range<V>(fd, 0, count);
}

}  // namespace nodepack::bpf
