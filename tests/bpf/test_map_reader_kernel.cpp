// bpf/map_reader against maps made in the kernel: a batch at a time where the map type has batch
// lookup (hash and per-CPU hash, several batches), a key at a time where it has not (a device hash
// map), the same entries either way.
#include "bpf/map_reader.hpp"
#include "tests/support/kernel_env.hpp"

#include <bpf/bpf.h>
#include <net/if.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <vector>

namespace nb = nodepack::bpf;

namespace {

// A map fd closed at scope exit.
struct MapFd {
  int fd;
  explicit MapFd(int f) : fd(f) { REQUIRE(fd >= 0); }
  ~MapFd() { ::close(fd); }
};

struct PerCpuValue {
  std::uint64_t count;
  std::uint64_t sum;
};

}  // namespace

TEST_CASE("a hash map is read whole in batches: every key once, with its value", "[bpf][kernel]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  // 1,000 keys: several batches of 256, and buckets of more than one key.
  MapFd map(
      bpf_map_create(BPF_MAP_TYPE_HASH, "np_test_hash", sizeof(std::uint64_t), sizeof(std::uint64_t), 4096, nullptr));
  for (std::uint64_t k = 1; k <= 1000; ++k) {
    const std::uint64_t v = k * 3;
    REQUIRE(bpf_map_update_elem(map.fd, &k, &v, BPF_ANY) == 0);
  }
  const auto entries = nb::read_hash_map<std::uint64_t, std::uint64_t>(map.fd);
  std::map<std::uint64_t, std::uint64_t> seen;
  for (const auto& [k, v] : entries) {
    CHECK(seen.emplace(k, v).second);  // no key twice
  }
  REQUIRE(seen.size() == 1000);
  CHECK(seen.begin()->first == 1);
  CHECK(seen.rbegin()->first == 1000);
  for (const auto& [k, v] : seen) {
    CHECK(v == k * 3);
  }
  // And that was the batch path, not the fallback.
  std::size_t batched = 0;
  CHECK(nb::detail::visit_in_batches<std::uint64_t>(map.fd, sizeof(std::uint64_t),
                                                    [&](const std::uint64_t&, const unsigned char*) { ++batched; }));
  CHECK(batched == 1000);
  // An empty map: nothing, no error.
  MapFd empty(bpf_map_create(BPF_MAP_TYPE_HASH, "np_test_empty", 8, 8, 16, nullptr));
  CHECK(nb::read_hash_map<std::uint64_t, std::uint64_t>(empty.fd).empty());
}

TEST_CASE("a per-CPU hash map is read in batches and each key's CPUs are folded", "[bpf][kernel]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  const int cpus = nb::possible_cpus();
  REQUIRE(cpus > 0);
  MapFd map(bpf_map_create(BPF_MAP_TYPE_LRU_PERCPU_HASH, "np_test_pcpu", sizeof(std::uint64_t), sizeof(PerCpuValue),
                           2048, nullptr));
  std::vector<PerCpuValue> per_cpu(static_cast<std::size_t>(cpus));
  for (std::uint64_t k = 1; k <= 600; ++k) {
    for (int c = 0; c < cpus; ++c) {
      per_cpu[c] = PerCpuValue{1, k + static_cast<std::uint64_t>(c)};
    }
    REQUIRE(bpf_map_update_elem(map.fd, &k, per_cpu.data(), BPF_ANY) == 0);
  }
  const auto folded = nb::read_percpu_hash_map<std::uint64_t, PerCpuValue, PerCpuValue>(
      map.fd, [](PerCpuValue& acc, const PerCpuValue& v) {
        acc.count += v.count;
        acc.sum += v.sum;
      });
  std::map<std::uint64_t, PerCpuValue> seen;
  for (const auto& [k, v] : folded) {
    CHECK(seen.emplace(k, v).second);
  }
  REQUIRE(seen.size() == 600);
  // Each key: one count per CPU; the sum of k + c over the CPUs.
  const auto n = static_cast<std::uint64_t>(cpus);
  for (const auto& [k, v] : seen) {
    CHECK(v.count == n);
    CHECK(v.sum == k * n + n * (n - 1) / 2);
  }
}

TEST_CASE("a map type without batch lookup is read a key at a time, the same entries", "[bpf][kernel]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  // A device hash map (values are interface indexes) has get-next-key but no batch lookup.
  MapFd map(bpf_map_create(BPF_MAP_TYPE_DEVMAP_HASH, "np_test_devhash", sizeof(std::uint32_t), sizeof(std::uint32_t),
                           512, nullptr));
  {
    std::uint32_t keys[4], values[4], token = 0;
    __u32 count = 4;
    CHECK(bpf_map_lookup_batch(map.fd, nullptr, &token, keys, values, &count, nullptr) != 0);
    CHECK(errno != ENOENT);  // not "no more entries": no batch lookup at all
  }
  const std::uint32_t loopback = ::if_nametoindex("lo");
  REQUIRE(loopback != 0);
  for (std::uint32_t k = 1; k <= 300; ++k) {
    REQUIRE(bpf_map_update_elem(map.fd, &k, &loopback, BPF_ANY) == 0);
  }
  const auto entries = nb::read_hash_map<std::uint32_t, std::uint32_t>(map.fd);
  std::map<std::uint32_t, std::uint32_t> seen;
  for (const auto& [k, v] : entries) {
    CHECK(seen.emplace(k, v).second);
  }
  REQUIRE(seen.size() == 300);
  CHECK(seen.begin()->first == 1);
  CHECK(seen.rbegin()->first == 300);
  for (const auto& [k, v] : seen) {
    CHECK(v == loopback);
  }
}

TEST_CASE("the first entries of a per-CPU array are read in batches, each CPU's value in place", "[bpf][kernel]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  // 700 indices written, CPU by CPU, with values telling index and CPU apart; a 16-byte value
  // makes batches of 256 indices on up to 16 CPUs, so reading 600 takes several calls.
  const auto cpus = static_cast<std::size_t>(nb::possible_cpus());
  MapFd map(bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "np_test_pcpu_arr", sizeof(std::uint32_t), sizeof(PerCpuValue),
                           1024, nullptr));
  std::vector<PerCpuValue> values(cpus);
  for (std::uint32_t index = 0; index < 700; ++index) {
    for (std::size_t cpu = 0; cpu < cpus; ++cpu) {
      values[cpu] = {index, 1000 * cpu + index};
    }
    REQUIRE(bpf_map_update_elem(map.fd, &index, values.data(), BPF_ANY) == 0);
  }
  for (const std::uint32_t count : {0u, 1u, 255u, 256u, 257u, 600u, 1024u}) {
    INFO(count);
    const auto read = nb::read_percpu_array_prefix<PerCpuValue>(map.fd, count);
    REQUIRE(read.size() == std::size_t{count} * cpus);
    for (std::uint32_t index = 0; index < count; ++index) {
      for (std::size_t cpu = 0; cpu < cpus; ++cpu) {
        // Indices never written read as zeros, as the kernel keeps them.
        CHECK(read[index * cpus + cpu].count == (index < 700 ? index : 0));
        CHECK(read[index * cpus + cpu].sum == (index < 700 ? 1000 * cpu + index : 0));
      }
    }
  }
}

TEST_CASE("chosen indices of a per-CPU array are read in runs, each in its own place", "[bpf][kernel]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  const auto cpus = static_cast<std::size_t>(nb::possible_cpus());
  MapFd map(bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "np_test_pcpu_idx", sizeof(std::uint32_t), sizeof(PerCpuValue),
                           2048, nullptr));
  std::vector<PerCpuValue> values(cpus);
  for (std::uint32_t index = 0; index < 2048; ++index) {
    for (std::size_t cpu = 0; cpu < cpus; ++cpu) {
      values[cpu] = {index, 1000 * cpu + index};
    }
    REQUIRE(bpf_map_update_elem(map.fd, &index, values.data(), BPF_ANY) == 0);
  }
  // Alone, neighbours, gaps of one and two (read along), of three (a new run), both ends, and a
  // run longer than one batch.
  std::vector<std::uint32_t> indices{0, 1, 3, 6, 10, 11, 500, 2047};
  for (std::uint32_t index = 700; index < 1300; index += 2) {
    indices.push_back(index);
  }
  std::sort(indices.begin(), indices.end());
  for (const std::uint32_t gap : {0u, 1u, 2u, 3u, 100u}) {
    INFO("max gap " << gap);
    const auto read = nb::read_percpu_array_indices<PerCpuValue>(map.fd, indices, gap);
    REQUIRE(read.size() == indices.size() * cpus);
    for (std::size_t k = 0; k < indices.size(); ++k) {
      for (std::size_t cpu = 0; cpu < cpus; ++cpu) {
        CHECK(read[k * cpus + cpu].count == indices[k]);
        CHECK(read[k * cpus + cpu].sum == 1000 * cpu + indices[k]);
      }
    }
  }
  CHECK(nb::read_percpu_array_indices<PerCpuValue>(map.fd, {}).empty());
}
