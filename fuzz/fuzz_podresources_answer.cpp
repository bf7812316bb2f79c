// The kubelet's pod-resources answers as protobuf bytes: any input decodes or fails, inside its
// bounds, and a decoded List converts to the NUMA model or fails typed.
#include "podresources/convert.hpp"
#include "podresources/messages.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto list = nodepack::podresources::decode_list_response(bytes)) {
    (void)nodepack::podresources::containers_from(*list);
  }
  if (auto alloc = nodepack::podresources::decode_allocatable_response(bytes)) {
    (void)nodepack::podresources::allocatable_from(*alloc);
  }
  return 0;
}
