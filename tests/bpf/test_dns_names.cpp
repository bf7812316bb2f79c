// The dns collector's question names as the kernel keeps them (wire format), made text.
#include "bpf/dns/top_names.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <string_view>

namespace {

::dns_name wire(std::string_view bytes) {
  ::dns_name n{};
  std::memcpy(n.wire, bytes.data(), bytes.size());
  return n;
}

}  // namespace

TEST_CASE("dns names: wire format to text, escapes, overruns") {
  using nodepack::bpf::dns_name_text;
  CHECK(dns_name_text(wire(std::string_view("\x02ok\x04test\x00", 9))) == "ok.test");
  CHECK(dns_name_text(wire(std::string_view("\x00", 1))) == ".");
  CHECK(dns_name_text(wire(std::string_view("\x03"
                                            "a.b\x01\x7f\x00",
                                            7))) == "a\\046b.\\127");
  CHECK(dns_name_text(wire(std::string_view("\x03"
                                            "a b\x00",
                                            5))) == "a\\032b");
  ::dns_name overrun{};
  overrun.wire[0] = 63;
  overrun.wire[64] = 63;  // would end past DNS_NAME_MAX
  std::memset(overrun.wire + 1, 'x', 63);
  std::memset(overrun.wire + 65, 'y', 62);
  CHECK(dns_name_text(overrun).empty());
}
