#pragma once

// A network address as a hash key: its 16 bytes, IPv4 as IPv4-mapped IPv6, so one map serves
// both families and a lookup hashes bytes, never text.

#include <boost/asio/ip/address.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace nodepack::kube::peers {

struct AddressKey {
  std::array<std::uint8_t, 16> bytes{};

  static AddressKey of(const boost::asio::ip::address& address);
  // nullopt for text that is not an IP address (an FQDN endpoint, "None", "").
  static std::optional<AddressKey> parse(std::string_view text);
  bool operator==(const AddressKey&) const = default;
};

struct AddressKeyHash {
  std::size_t operator()(const AddressKey& k) const noexcept {
    std::uint64_t high = 0;
    std::uint64_t low = 0;
    std::memcpy(&high, k.bytes.data(), 8);
    std::memcpy(&low, k.bytes.data() + 8, 8);
    // IPv4 lives in the low half; mix so neighbouring pod IPs spread over buckets.
    return static_cast<std::size_t>((low * 0x9E3779B97F4A7C15ULL) ^ (high + (low >> 29)));
  }
};

}  // namespace nodepack::kube::peers
