#pragma once

// Values the BPF programs count in, summed in user space across CPUs and cgroups.

#include <array>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace nodepack::bpf {

// A map value struct from <name>.h with only __u64 counters in it (histogram slots, sums, counts,
// explicit padding that stays 0), so that adding two values is adding them word by word. Keeps
// the struct's own field names: Summed<tcpdrop_cg_stats>{}.drops.
template <class Stats>
struct Summed : Stats {
  static_assert(std::is_trivially_copyable_v<Stats> && sizeof(Stats) % sizeof(std::uint64_t) == 0,
                "map values summed in user space are made of __u64 counters only");
  static constexpr std::size_t words = sizeof(Stats) / sizeof(std::uint64_t);

  Summed() : Stats{} {}
  Summed(const Stats& s) : Stats(s) {}  // NOLINT(google-explicit-constructor): a value read from a map

  Summed& operator+=(const Stats& o) {
    std::array<std::uint64_t, words> a, b;
    std::memcpy(a.data(), static_cast<const Stats*>(this), sizeof(Stats));
    std::memcpy(b.data(), &o, sizeof(Stats));
    for (std::size_t i = 0; i < words; ++i) {
      a[i] += b[i];
    }
    std::memcpy(static_cast<Stats*>(this), a.data(), sizeof(Stats));
    return *this;
  }
};

}  // namespace nodepack::bpf
