#pragma once

// Reads the protobuf wire format (https://protobuf.dev/programming-guides/encoding/) field by
// field, for the few messages the agent takes from the kubelet. The agent decodes them itself
// rather than through libprotobuf and gRPC, whose libraries would be about a third of its
// resident memory for two calls every few seconds. Bounds-checked throughout: every read either
// stays inside the bytes given or fails, so any input is safe to hand it.

#include "common/result.hpp"

#include <cstdint>
#include <string_view>

namespace nodepack::podresources {

enum class WireType : std::uint8_t { varint = 0, fixed64 = 1, length_delimited = 2, fixed32 = 5 };

struct Field {
  std::uint32_t number = 0;
  WireType type = WireType::varint;
  std::uint64_t varint = 0;  // varint and fixed fields: the value
  std::string_view bytes;    // length-delimited fields: the payload (a view into the input)
};

class ProtobufReader {
 public:
  explicit ProtobufReader(std::string_view bytes) : rest_(bytes) {}

  bool done() const { return rest_.empty(); }
  // The next field, or an error naming what is wrong (truncated, a varint over ten bytes, field
  // number 0, a wire type this decoder does not accept: the deprecated groups, 6 and 7).
  Result<Field> next();

  // The varints of a packed repeated field's payload, one by one.
  static Result<std::uint64_t> read_varint(std::string_view& bytes);

 private:
  std::string_view rest_;
};

}  // namespace nodepack::podresources
