// Any bytes in device-plugins/kubelet_internal_checkpoint: parse without crashing.
#include "numa/checkpoint.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto cp = nodepack::numa::parse_device_checkpoint(text);
  if (cp) {
    volatile std::size_t n = cp->entries.size() + cp->registered_devices.size();
    (void)n;
  }
  return 0;
}
