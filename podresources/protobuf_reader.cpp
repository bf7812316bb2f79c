#include "podresources/protobuf_reader.hpp"

#include <string>

namespace nodepack::podresources {

Result<std::uint64_t> ProtobufReader::read_varint(std::string_view& bytes) {
  std::uint64_t value = 0;
  // Ten bytes carry 64 bits; the tenth may only add the top bit.
  for (unsigned i = 0; i < 10; ++i) {
    if (i >= bytes.size()) {
      return fail("truncated varint");
    }
    const auto b = static_cast<unsigned char>(bytes[i]);
    if (i == 9 && b > 1) {
      return fail("varint longer than 64 bits");
    }
    value |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      bytes.remove_prefix(i + 1);
      return value;
    }
  }
  return fail("varint longer than ten bytes");
}

namespace {

Result<std::uint64_t> read_fixed(std::string_view& bytes, std::size_t width) {
  if (bytes.size() < width) {
    return fail("truncated fixed" + std::to_string(width * 8) + " field");
  }
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < width; ++i) {  // little-endian on the wire
    value |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  }
  bytes.remove_prefix(width);
  return value;
}

}  // namespace

Result<Field> ProtobufReader::next() {
  auto tag = read_varint(rest_);
  if (!tag) {
    return tag.error();
  }
  Field f;
  const std::uint64_t number = *tag >> 3;
  if (number == 0 || number > 0x1fffffff) {  // field numbers are 1 .. 2^29 - 1
    return fail("field number " + std::to_string(number) + " is not a protobuf field number");
  }
  f.number = static_cast<std::uint32_t>(number);
  const auto type = static_cast<unsigned>(*tag & 7);
  switch (type) {
    case 0: {
      f.type = WireType::varint;
      auto v = read_varint(rest_);
      if (!v) {
        return v.error();
      }
      f.varint = *v;
      return f;
    }
    case 1:
    case 5: {
      f.type = type == 1 ? WireType::fixed64 : WireType::fixed32;
      auto v = read_fixed(rest_, type == 1 ? 8 : 4);
      if (!v) {
        return v.error();
      }
      f.varint = *v;
      return f;
    }
    case 2: {
      f.type = WireType::length_delimited;
      auto length = read_varint(rest_);
      if (!length) {
        return length.error();
      }
      if (*length > rest_.size()) {
        return fail("field " + std::to_string(number) + " claims " + std::to_string(*length) + " bytes, " +
                    std::to_string(rest_.size()) + " remain");
      }
      f.bytes = rest_.substr(0, static_cast<std::size_t>(*length));
      rest_.remove_prefix(static_cast<std::size_t>(*length));
      return f;
    }
    default:
      return fail("field " + std::to_string(number) + " has wire type " + std::to_string(type) +
                  ", which this decoder does not accept");
  }
}

}  // namespace nodepack::podresources
