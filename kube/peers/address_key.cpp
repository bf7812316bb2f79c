#include "kube/peers/address_key.hpp"

#include <string>

namespace nodepack::kube::peers {

AddressKey AddressKey::of(const boost::asio::ip::address& address) {
  AddressKey key;
  const auto v6 =
      address.is_v4() ? boost::asio::ip::make_address_v6(boost::asio::ip::v4_mapped, address.to_v4()) : address.to_v6();
  key.bytes = v6.to_bytes();
  return key;
}

std::optional<AddressKey> AddressKey::parse(std::string_view text) {
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(std::string(text), ec);
  if (ec) {
    return std::nullopt;
  }
  return of(address);
}

}  // namespace nodepack::kube::peers
