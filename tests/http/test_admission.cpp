// The slot policy without sockets: which connection is closed to make room, and when none is.

#include "http/admission.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

using nodepack::http::ServerLimits;
using nodepack::http::ServerStats;
using nodepack::http::detail::Admission;
using nodepack::http::detail::Admitted;
using nodepack::http::detail::client_key;
using nodepack::http::detail::Slot;
namespace ip = boost::asio::ip;

namespace {

const ip::address peer_a = ip::make_address("10.0.0.1");
const ip::address peer_b = ip::make_address("10.0.0.2");

ServerLimits small_limits() {
  ServerLimits limits;
  limits.max_connections = 3;
  limits.max_connections_per_client = 0;
  limits.health_connections = 2;
  return limits;
}

// Admits a connection and lets it send a request and get its reply: it is then idle.
std::uint64_t idle_connection(Admission& admission, const ip::address& peer) {
  const auto admitted = admission.admit(peer);
  REQUIRE(admitted);
  REQUIRE(admitted->slot == Slot::regular);
  REQUIRE(admission.work(admitted->id));
  admission.wait(admitted->id);
  return admitted->id;
}

}  // namespace

TEST_CASE("a full server closes its oldest idle connection for a newcomer, never a working one") {
  const auto limits = small_limits();
  ServerStats stats;
  Admission admission(limits, stats);
  const auto first = idle_connection(admission, peer_a);
  const auto second = idle_connection(admission, peer_a);
  const auto third = idle_connection(admission, peer_b);
  CHECK(stats.connections_idle.load() == 3);

  // The oldest idle goes, whoever its peer.
  const auto fourth = admission.admit(peer_b);
  REQUIRE(fourth);
  CHECK(fourth->slot == Slot::regular);
  CHECK(fourth->evicted == std::vector<std::uint64_t>{first});
  CHECK_FALSE(admission.work(first));  // told to close if its request raced the eviction

  // Idle order is the order of becoming idle: `second` works on a request, so `third` is oldest.
  REQUIRE(admission.work(second));
  REQUIRE(admission.work(fourth->id));
  const auto fifth = admission.admit(peer_a);
  REQUIRE(fifth);
  CHECK(fifth->evicted == std::vector<std::uint64_t>{third});
  REQUIRE(admission.work(fifth->id));
  // `second` idles again after its reply: now it is the oldest idle one.
  admission.wait(second);
  admission.wait(fourth->id);
  const auto sixth = admission.admit(peer_a);
  REQUIRE(sixth);
  CHECK(sixth->evicted == std::vector<std::uint64_t>{second});
  CHECK(stats.idle_evictions.load() == 3);
  CHECK(stats.connections_active.load() == 3);
  CHECK(stats.connections_rejected.load() == 0);
}

TEST_CASE("with no idle connection, a newcomer gets a health slot; the oldest waiting one makes room") {
  const auto limits = small_limits();
  ServerStats stats;
  Admission admission(limits, stats);
  for (int i = 0; i < 3; ++i) {
    const auto busy = admission.admit(peer_a);
    REQUIRE(busy);
    REQUIRE(admission.work(busy->id));
  }
  const auto h1 = admission.admit(peer_b);
  const auto h2 = admission.admit(peer_b);
  REQUIRE((h1 && h2));
  CHECK((h1->slot == Slot::health && h2->slot == Slot::health));
  CHECK((h1->evicted.empty() && h2->evicted.empty()));
  CHECK(stats.health_connections_active.load() == 2);

  // Both health slots wait for their request: the older makes room.
  const auto h3 = admission.admit(peer_b);
  REQUIRE(h3);
  CHECK(h3->slot == Slot::health);
  CHECK(h3->evicted == std::vector<std::uint64_t>{h1->id});
  CHECK(stats.health_evictions.load() == 1);

  // A health connection whose request is in is answered, not evicted.
  REQUIRE(admission.work(h2->id));
  const auto h4 = admission.admit(peer_b);
  REQUIRE(h4);
  CHECK(h4->evicted == std::vector<std::uint64_t>{h3->id});
  REQUIRE(admission.work(h4->id));
  // Every health slot is answering: no room at all, the socket is closed at accept.
  CHECK_FALSE(admission.admit(peer_b).has_value());
  CHECK(stats.connections_rejected.load() == 5);
  CHECK(stats.health_connections_active.load() == 2);

  // A slot freed by a connection that ends is a regular slot again.
  admission.release(h2->id);
  const auto h5 = admission.admit(peer_a);
  REQUIRE(h5);
  CHECK(h5->slot == Slot::health);
  CHECK(h5->evicted.empty());
}

TEST_CASE("a connection whose bytes were waiting at accept outlasts a flood of silent ones") {
  const auto limits = small_limits();
  ServerStats stats;
  Admission admission(limits, stats);
  // A probe (or a scraper) sends as it connects; silent sockets keep arriving after it.
  const auto probe = admission.admit(peer_a, /*spoke=*/true);
  REQUIRE(probe);
  CHECK(probe->slot == Slot::regular);
  CHECK(probe->spoke);
  std::vector<std::uint64_t> evicted;
  for (int i = 0; i < 20; ++i) {
    const auto silent = admission.admit(peer_b);
    REQUIRE(silent);
    CHECK(silent->slot == Slot::regular);  // a silent connection always makes room for the next one
    evicted.insert(evicted.end(), silent->evicted.begin(), silent->evicted.end());
  }
  CHECK(evicted.size() == 18);  // every silent one but the two newest, never the probe
  CHECK(std::find(evicted.begin(), evicted.end(), probe->id) == evicted.end());
  CHECK(admission.work(probe->id));
  CHECK(stats.connections_idle.load() == 2);
}

TEST_CASE("health slots close a silent connection before one that spoke") {
  const auto limits = small_limits();
  ServerStats stats;
  Admission admission(limits, stats);
  for (int i = 0; i < 3; ++i) {
    const auto busy = admission.admit(peer_a, /*spoke=*/true);
    REQUIRE(busy);
  }
  const auto spoke = admission.admit(peer_b, /*spoke=*/true);  // older, but sending its request
  const auto silent = admission.admit(peer_b);
  REQUIRE((spoke && silent));
  CHECK((spoke->slot == Slot::health && silent->slot == Slot::health));
  const auto next = admission.admit(peer_b, /*spoke=*/true);
  REQUIRE(next);
  CHECK(next->evicted == std::vector<std::uint64_t>{silent->id});
  // With no silent one left, the one that has had the longest to finish its request goes.
  const auto last = admission.admit(peer_b);
  REQUIRE(last);
  CHECK(last->evicted == std::vector<std::uint64_t>{spoke->id});
}

TEST_CASE("a peer at its limit gives up its own idle connection, or is refused a regular slot") {
  auto limits = small_limits();
  limits.max_connections = 10;
  limits.max_connections_per_client = 2;
  ServerStats stats;
  Admission admission(limits, stats);
  const auto other_idle = idle_connection(admission, peer_b);  // older than all of peer_a's
  const auto a1 = idle_connection(admission, peer_a);
  const auto a2 = admission.admit(peer_a);
  REQUIRE(a2);
  REQUIRE(admission.work(a2->id));

  // peer_a is at its limit: its own idle connection goes, not peer_b's older one.
  const auto a3 = admission.admit(peer_a);
  REQUIRE(a3);
  CHECK(a3->slot == Slot::regular);
  CHECK(a3->evicted == std::vector<std::uint64_t>{a1});
  CHECK(stats.per_client_rejections.load() == 0);

  // At its limit with both connections working: a health slot only, though the server has room.
  REQUIRE(admission.work(a3->id));
  const auto a4 = admission.admit(peer_a);
  REQUIRE(a4);
  CHECK(a4->slot == Slot::health);
  CHECK(a4->evicted.empty());
  CHECK(stats.per_client_rejections.load() == 1);
  CHECK(stats.connections_rejected.load() == 1);
  CHECK(admission.work(other_idle));  // untouched

  // Another peer is unaffected, and peer_a gets a regular slot once one of its own ends.
  const auto b2 = admission.admit(peer_b);
  REQUIRE(b2);
  CHECK(b2->slot == Slot::regular);
  admission.release(a2->id);
  const auto a5 = admission.admit(peer_a);
  REQUIRE(a5);
  CHECK(a5->slot == Slot::regular);
}

TEST_CASE("without health slots, a connection over the cap gets no slot") {
  auto limits = small_limits();
  limits.max_connections = 1;
  limits.health_connections = 0;
  ServerStats stats;
  Admission admission(limits, stats);
  const auto only = admission.admit(peer_a);
  REQUIRE(only);
  REQUIRE(admission.work(only->id));
  CHECK_FALSE(admission.admit(peer_b).has_value());
  CHECK(stats.connections_rejected.load() == 1);
  CHECK(stats.connections_active.load() == 1);
}

TEST_CASE("an IPv4 peer on a dual-stack listener counts as the same client as over IPv4") {
  CHECK(client_key(ip::make_address("::ffff:10.0.0.1")) == peer_a);
  CHECK(client_key(peer_a) == peer_a);
  CHECK(client_key(ip::make_address("fd00::1")) == ip::make_address("fd00::1"));
}
