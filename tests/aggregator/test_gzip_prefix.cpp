// The /metrics gzip body: a once-deflated snapshot part joined with a per-scrape tail must be one
// valid gzip member (zlib checks the CRC and length) holding exactly both texts.

#include "aggregator/gzip_prefix.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace nodepack::aggregator;

namespace {

std::string gunzip(const std::string& in) {
  z_stream zs{};
  REQUIRE(inflateInit2(&zs, 15 + 16) == Z_OK);
  std::string out(in.size() * 40 + 1024, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&zs, Z_FINISH);
  CHECK(rc == Z_STREAM_END);  // also means the trailer's CRC-32 and length matched
  CHECK(zs.avail_in == 0);    // one member, nothing after it
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

std::string text(std::size_t size, std::uint64_t seed) {
  std::mt19937_64 random(seed);
  std::string s;
  while (s.size() < size) {
    s += "kube_binpacking_node_allocated{node=\"node-" + std::to_string(random() % 100000) + "\",resource=\"cpu\"} " +
         std::to_string(random() % 1000) + "\n";
  }
  s.resize(size);
  return s;
}

}  // namespace

TEST_CASE("prefix + tail gunzips to both texts") {
  for (const auto& [prefix_size, tail_size] :
       std::vector<std::pair<std::size_t, std::size_t>>{{0, 0}, {0, 100}, {100, 0}, {5000, 300}, {3'000'000, 20'000}}) {
    INFO(prefix_size << " + " << tail_size);
    const auto prefix = text(prefix_size, 1);
    const auto tail = text(tail_size, 2);
    const auto deflated = deflate_prefix(prefix);
    const auto body = gzip_with_prefix(deflated, tail);
    CHECK(gunzip(body) == prefix + tail);
    // The prefix is reused: a second tail on the same prefix works too.
    CHECK(gunzip(gzip_with_prefix(deflated, "x\n")) == prefix + "x\n");
  }
}
