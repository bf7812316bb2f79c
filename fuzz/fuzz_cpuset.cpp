// The Linux CPU list format: parse, and check that printing and re-parsing round-trips.
#include "numa/cpuset.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto set = nodepack::numa::CpuSet::parse(text);
  if (set) {
    auto again = nodepack::numa::CpuSet::parse(set->to_string());
    if (!again || *again != *set) {
      std::abort();
    }
  }
  return 0;
}
