// Any bytes the kubelet (or a disk error) could leave in memory_manager_state: parse without crashing.
#include "numa/checkpoint.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto st = nodepack::numa::parse_memory_manager_state(text);
  if (st) {
    // Touch the result so the optimiser keeps the whole parse.
    volatile std::size_t n = st->policy_name.size() + st->checksum.tried.size();
    (void)n;
  }
  return 0;
}
