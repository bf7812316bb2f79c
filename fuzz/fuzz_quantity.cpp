// Quantity parsing must never crash, overflow or accept text it cannot print back exactly.

#include "kube/quantity.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = nodepack::kube::Quantity::parse(text);
  if (!parsed) {
    return 0;
  }
  // Whatever parses must survive a round trip through its canonical form unchanged.
  auto again = nodepack::kube::Quantity::parse(parsed->to_string());
  if (!again || !(*again == *parsed)) {
    std::abort();
  }
  (void)parsed->milli_value_ceil();
  (void)parsed->value_ceil();
  (void)(*parsed + *parsed);
  return 0;
}
