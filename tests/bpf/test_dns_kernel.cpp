// Real dns programs: a client pod asks a DNS server pod over UDP and TCP on port 53 (loopback);
// answers are counted by RCODE with their latency, the dropped query as one timeout, the server
// pod's answers as served, and nothing is charged to an idle pod.
#include "bpf/dns/dns_collector.hpp"
#include "tests/bpf/bpf_registry.hpp"
#include "tests/bpf/dns_test_server.hpp"

#include "tests/support/fixtures.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <functional>
#include <numeric>

namespace nb = nodepack::bpf;
using nb::test::find_metric;
using namespace std::chrono_literals;

namespace {

const std::string kUidClient = "0f1e2d3c-0000-4000-8000-0000000000d1";
const std::string kUidServer = "0f1e2d3c-0000-4000-8000-0000000000d2";
const std::string kUidIdle = "0f1e2d3c-0000-4000-8000-0000000000d3";
const std::string kCidClient = std::string(60, 'd') + "0001";
const std::string kCidServer = std::string(60, 'd') + "0002";
const std::string kCidIdle = std::string(60, 'd') + "0003";

// Long enough that every answer comes well within it on a loaded machine (the slowest is
// kOkDelay), short enough to wait for the dropped query.
constexpr auto kTimeout = 2s;

struct Pods {
  nb::test::KubepodsTree tree;
  nb::test::FixedPodLookup lookup;
  std::filesystem::path client, server, idle;
  explicit Pods(const std::string& client_namespace = "apps") {
    client = tree.add_container(kUidClient, kCidClient);
    server = tree.add_container(kUidServer, kCidServer);
    idle = tree.add_container(kUidIdle, kCidIdle);
    lookup.add(kUidClient, {client_namespace, "client", {{kCidClient, "cli"}}});
    lookup.add(kUidServer, {"apps", "resolver", {{kCidServer, "dns"}}});
    lookup.add(kUidIdle, {"apps", "idle", {{kCidIdle, "idle"}}});
  }
};

// The dns collector loaded and attached to `pods`' cgroups, with `timeout` for unanswered queries.
nb::test::TestRegistry started_dns(const Pods& pods, std::chrono::milliseconds timeout) {
  nodepack::kpod::CollectorOptions options;
  options.dns_timeout = timeout;
  auto reg = nb::test::registry_for({"dns"}, pods.tree.root(), pods.lookup, std::make_unique<nb::KernelFeatureProbe>(),
                                    {}, options);
  reg->start();
  REQUIRE(reg->status()["dns"]);
  return reg;
}

const nb::test::DnsServerAddress kServer("127.0.1.2");  // the server pod's own loopback address

// Runs the DNS server in pod `server` and `ask` (its exit status) in pod `client`, both to the end.
void serve_and_ask(const Pods& pods, int udp_queries, int tcp_queries, std::function<int()> ask,
                   const nb::test::DnsServerAddress& at = kServer) {
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  int server = nb::test::spawn_in_cgroup(
      pods.server, [&] { ::_exit(nb::test::serve_dns(at, ready[1], udp_queries, tcp_queries) ? 0 : 10); });
  char b;
  REQUIRE(::read(ready[0], &b, 1) == 1);
  int client = nb::test::spawn_in_cgroup(pods.client, [&] { ::_exit(ask()); });
  nb::test::wait_all({server, client});
  ::close(ready[0]);
  ::close(ready[1]);
}

// The client's queries, in order: UDP ids 1-6, then TCP id 7.
int ask_everything() {
  int udp = nb::test::udp_socket_to(kServer);
  if (udp < 0) {
    return 20;
  }
  constexpr auto kWait = 1500ms;  // under kTimeout: an answer the client waited for is not a timeout
  for (std::uint16_t id : {1, 2}) {
    if (nb::test::ask_udp(udp, id, "ok.test", kWait) != nb::test::kRcodeNoError) {
      return 21;
    }
  }
  if (nb::test::ask_udp(udp, 3, "OK.Test", kWait) != nb::test::kRcodeNoError) {  // names are case-insensitive
    return 21;
  }
  for (std::uint16_t id : {4, 5}) {
    if (nb::test::ask_udp(udp, id, "missing.test", kWait) != nb::test::kRcodeNxDomain) {
      return 22;
    }
  }
  if (nb::test::ask_udp(udp, 6, "drop.test", 50ms).has_value()) {
    return 23;
  }
  if (nb::test::ask_tcp(kServer, 7, "ok.test") != nb::test::kRcodeNoError) {
    return 24;
  }
  ::close(udp);
  return 0;
}

}  // namespace

TEST_CASE("dns: queries are counted by rcode with latency, a dropped one as one timeout", "[bpf][dns]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  Pods pods;
  nodepack::kpod::CollectorOptions options;
  options.dns_timeout = kTimeout;
  options.dns_top_names = 2;
  auto reg = nb::test::registry_for({"dns"}, pods.tree.root(), pods.lookup, std::make_unique<nb::KernelFeatureProbe>(),
                                    {}, options);
  reg->start();
  REQUIRE(reg->status()["dns"]);
  auto* dns = dynamic_cast<nb::DnsCollector*>(reg->find("dns"));
  REQUIRE(dns != nullptr);

  serve_and_ask(pods, 6, 1, ask_everything);

  // The dropped query is swept as a timeout once it is older than kTimeout.
  const auto client_cg = nodepack::testing::inode_of(pods.client);
  std::optional<nb::DnsCollector::Value> client_stats;
  const bool timed_out = nb::test::wait_for(
      [&] {
        for (const auto& [id, v] : dns->read_cgroups()) {
          if (id == client_cg) {
            client_stats = v;
          }
        }
        return client_stats && client_stats->requests[DNS_RCODE_TIMEOUT] >= 1;
      },
      10'000);
  REQUIRE(timed_out);

  auto families = reg->Collect();
  auto requests = [&](const char* pod, const char* rcode) {
    auto* m = find_metric(families, "kpod_dns_requests_total", {{"pod", pod}, {"rcode", rcode}});
    return m ? m->counter.value : 0.0;
  };
  CHECK(requests("client", "NOERROR") == 4);  // three over UDP, one over TCP
  CHECK(requests("client", "NXDOMAIN") == 2);
  CHECK(requests("client", "timeout") == 1);
  for (const char* other : {"FORMERR", "SERVFAIL", "NOTIMP", "REFUSED", "other"}) {
    CHECK(find_metric(families, "kpod_dns_requests_total", {{"pod", "client"}, {"rcode", other}}) == nullptr);
  }
  auto served = [&](const char* pod, const char* rcode) {
    auto* m = find_metric(families, "kpod_dns_server_responses_total", {{"pod", pod}, {"rcode", rcode}});
    return m ? m->counter.value : 0.0;
  };
  CHECK(served("resolver", "NOERROR") == 4);
  CHECK(served("resolver", "NXDOMAIN") == 2);
  CHECK(served("client", "NOERROR") == 0);
  // The server asked nothing; the idle pod has no series at all.
  CHECK(find_metric(families, "kpod_dns_requests_total", {{"pod", "resolver"}}) == nullptr);
  CHECK(find_metric(families, "kpod_dns_latency_seconds", {{"pod", "resolver"}}) == nullptr);
  for (const char* family :
       {"kpod_dns_requests_total", "kpod_dns_latency_seconds", "kpod_dns_server_responses_total"}) {
    CHECK(find_metric(families, family, {{"pod", "idle"}}) == nullptr);
  }
  const auto idle_cg = nodepack::testing::inode_of(pods.idle);
  for (const auto& [id, v] : dns->read_cgroups()) {
    CHECK(id != idle_cg);
  }

  // Latency: one sample per answer. The four NOERROR answers came at least kOkDelay (20 ms,
  // log2 slot 24: 16.8-33.6 ms) after their query; none is slower than the timeout (a slower
  // one would have been a timeout), and on a loaded machine the immediate NXDOMAIN answers may
  // land anywhere below it too.
  auto* latency = find_metric(families, "kpod_dns_latency_seconds", {{"pod", "client"}});
  REQUIRE(latency != nullptr);
  CHECK(latency->histogram.sample_count == 6);
  CHECK(latency->histogram.sample_sum >= 4 * 0.020);
  const auto& hist = client_stats->latency;
  CHECK(hist.count == 6);
  const auto at_least_delay = std::accumulate(std::begin(hist.slots) + 24, std::end(hist.slots), std::uint64_t{0});
  CHECK(at_least_delay >= 4);
  CHECK(at_least_delay <= 6);
  const auto beyond_timeout = std::accumulate(std::begin(hist.slots) + 31, std::end(hist.slots), std::uint64_t{0});
  CHECK(beyond_timeout == 0);  // 2^31 ns > kTimeout

  // The node's two most asked names, counted as sent (case folded: one query asks "OK.Test").
  auto top = [&](const char* name) {
    auto* m = find_metric(families, "kpod_dns_top_names_requests_total", {{"name", name}, {"node", "test-node"}});
    return m ? m->counter.value : -1.0;
  };
  CHECK(top("ok.test") == 4);
  CHECK(top("missing.test") == 2);
  CHECK(top("drop.test") == -1);  // third: not in the top 2

  // Each query counts once: another scrape finds nothing new to sweep.
  auto again = reg->Collect();
  auto* timeouts = find_metric(again, "kpod_dns_requests_total", {{"pod", "client"}, {"rcode", "timeout"}});
  REQUIRE(timeouts != nullptr);
  CHECK(timeouts->counter.value == 1);
  // Nothing is left waiting, and every query's name fit the names map.
  auto* inflight = find_metric(again, "nodepack_bpf_map_entries", {{"collector", "dns"}, {"map", "inflight"}});
  REQUIRE(inflight != nullptr);
  CHECK(inflight->gauge.value == 0);
  auto* names = find_metric(again, "nodepack_bpf_map_entries", {{"collector", "dns"}, {"map", "names"}});
  REQUIRE(names != nullptr);
  CHECK(names->gauge.value == 3);  // ok.test, missing.test, drop.test
  auto* errors = find_metric(again, "nodepack_bpf_map_update_errors_total", {{"collector", "dns"}});
  REQUIRE(errors != nullptr);
  CHECK(errors->counter.value == 0);
}

TEST_CASE("dns: queries pipelined over TCP in one segment, answered in one segment", "[bpf][dns]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  Pods pods;
  auto reg = started_dns(pods, kTimeout);

  // As a resolver retrying over TCP sends its A and AAAA queries: together, in one write.
  serve_and_ask(pods, 0, 1, [] {
    const auto rcodes = nb::test::ask_tcp(kServer, {{31, "ok.test"}, {32, "missing.test"}, {33, "ok.test"}});
    return rcodes == std::vector<int>{nb::test::kRcodeNoError, nb::test::kRcodeNxDomain, nb::test::kRcodeNoError} ? 0
                                                                                                                  : 25;
  });

  auto families = reg->Collect();
  auto count = [&](const char* family, const char* pod, const char* rcode) {
    auto* m = find_metric(families, family, {{"pod", pod}, {"rcode", rcode}});
    return m ? m->counter.value : 0.0;
  };
  CHECK(count("kpod_dns_requests_total", "client", "NOERROR") == 2);
  CHECK(count("kpod_dns_requests_total", "client", "NXDOMAIN") == 1);
  CHECK(count("kpod_dns_requests_total", "client", "timeout") == 0);
  CHECK(count("kpod_dns_server_responses_total", "resolver", "NOERROR") == 2);
  CHECK(count("kpod_dns_server_responses_total", "resolver", "NXDOMAIN") == 1);
  auto* latency = find_metric(families, "kpod_dns_latency_seconds", {{"pod", "client"}});
  REQUIRE(latency != nullptr);
  CHECK(latency->histogram.sample_count == 3);
  auto* inflight = find_metric(families, "nodepack_bpf_map_entries", {{"collector", "dns"}, {"map", "inflight"}});
  REQUIRE(inflight != nullptr);
  CHECK(inflight->gauge.value == 0);  // every query matched its answer
}

// Counts of one pod's queries by rcode and answers served by rcode, from a collection.
double dns_count(const std::vector<prometheus::MetricFamily>& families, const char* family, const char* pod,
                 const char* rcode) {
  auto* m = find_metric(families, family, {{"pod", pod}, {"rcode", rcode}});
  return m ? m->counter.value : 0.0;
}

TEST_CASE("dns: a length prefix written apart from its message, both ways, over TCP", "[bpf][dns]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  Pods pods;
  auto reg = started_dns(pods, kTimeout);

  // The client writes its first query's length prefix alone, then that query with a second one;
  // the server answers the same way: a segment of two bytes, then one with the rest of the first
  // message and all of the second.
  serve_and_ask(pods, 0, 1, [] {
    const auto rcodes =
        nb::test::ask_tcp(kServer, {{41, "split.test"}, {42, "ok.test"}}, nb::test::TcpWrites::prefix_apart);
    return rcodes == std::vector<int>{nb::test::kRcodeNoError, nb::test::kRcodeNoError} ? 0 : 25;
  });

  auto families = reg->Collect();
  CHECK(dns_count(families, "kpod_dns_requests_total", "client", "NOERROR") == 2);
  CHECK(dns_count(families, "kpod_dns_requests_total", "client", "timeout") == 0);
  CHECK(dns_count(families, "kpod_dns_server_responses_total", "resolver", "NOERROR") == 2);
  auto* latency = find_metric(families, "kpod_dns_latency_seconds", {{"pod", "client"}});
  REQUIRE(latency != nullptr);
  CHECK(latency->histogram.sample_count == 2);
  auto* inflight = find_metric(families, "nodepack_bpf_map_entries", {{"collector", "dns"}, {"map", "inflight"}});
  REQUIRE(inflight != nullptr);
  CHECK(inflight->gauge.value == 0);  // both queries matched their answers
}

TEST_CASE("dns: an answer running on into the next segment, and the answer after it there", "[bpf][dns]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  Pods pods;
  auto reg = started_dns(pods, kTimeout);

  // Two queries in one write; the server's write of both answers is cut 40 bytes into the first
  // (1,500 bytes long): the second segment holds the rest of it, then the whole second answer.
  serve_and_ask(pods, 0, 1, [] {
    const auto rcodes = nb::test::ask_tcp(kServer, {{51, "long.test"}, {52, "missing.test"}});
    return rcodes == std::vector<int>{nb::test::kRcodeNoError, nb::test::kRcodeNxDomain} ? 0 : 25;
  });

  auto families = reg->Collect();
  CHECK(dns_count(families, "kpod_dns_requests_total", "client", "NOERROR") == 1);
  CHECK(dns_count(families, "kpod_dns_requests_total", "client", "NXDOMAIN") == 1);
  CHECK(dns_count(families, "kpod_dns_requests_total", "client", "timeout") == 0);
  CHECK(dns_count(families, "kpod_dns_server_responses_total", "resolver", "NOERROR") == 1);
  CHECK(dns_count(families, "kpod_dns_server_responses_total", "resolver", "NXDOMAIN") == 1);
  auto* inflight = find_metric(families, "nodepack_bpf_map_entries", {{"collector", "dns"}, {"map", "inflight"}});
  REQUIRE(inflight != nullptr);
  CHECK(inflight->gauge.value == 0);
}

TEST_CASE("dns: an answer later than the timeout counts as a timeout, once", "[bpf][dns]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  Pods pods;
  auto reg = started_dns(pods, nb::test::kLateDelay / 4);  // the answer comes at least 4 times later

  // No scrape runs before the answer arrives: the kernel finds the query too old and counts it.
  serve_and_ask(pods, 1, 0, [] {
    int udp = nb::test::udp_socket_to(kServer);
    return udp >= 0 && nb::test::ask_udp(udp, 9, "late.test", 10s) == nb::test::kRcodeNoError ? 0 : 20;
  });
  for (int scrape = 0; scrape < 2; ++scrape) {  // and the sweep finds nothing left to count
    auto families = reg->Collect();
    auto* timeouts = find_metric(families, "kpod_dns_requests_total", {{"pod", "client"}, {"rcode", "timeout"}});
    REQUIRE(timeouts != nullptr);
    CHECK(timeouts->counter.value == 1);
    CHECK(find_metric(families, "kpod_dns_requests_total", {{"pod", "client"}, {"rcode", "NOERROR"}}) == nullptr);
    auto* latency = find_metric(families, "kpod_dns_latency_seconds", {{"pod", "client"}});
    REQUIRE(latency != nullptr);
    CHECK(latency->histogram.sample_count == 0);  // a timeout has no latency sample
    CHECK(find_metric(families, "kpod_dns_server_responses_total", {{"pod", "resolver"}, {"rcode", "NOERROR"}})
              ->counter.value == 1);
    CHECK(find_metric(families, "kpod_dns_top_names_requests_total", {}) == nullptr);  // off by default
  }
}

TEST_CASE("dns: IPv6 queries count; an ended pod's unanswered query is a timeout in its last values", "[bpf][dns]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  Pods pods;
  auto reg = nb::test::registry_for({"dns"}, pods.tree.root(), pods.lookup,
                                    std::make_unique<nb::KernelFeatureProbe>());  // timeout 5 s
  reg->start();
  REQUIRE(reg->status()["dns"]);

  const nb::test::DnsServerAddress v6("::1");
  serve_and_ask(
      pods, 2, 0,
      [&] {
        int udp = nb::test::udp_socket_to(v6);
        const bool ok = udp >= 0 && nb::test::ask_udp(udp, 1, "ok.test", 4s) == nb::test::kRcodeNoError &&
                        !nb::test::ask_udp(udp, 2, "drop.test", 50ms).has_value();
        return ok ? 0 : 20;
      },
      v6);
  auto first = reg->Collect();
  auto requests = [](const auto& families, const char* rcode) {
    auto* m = find_metric(families, "kpod_dns_requests_total", {{"pod", "client"}, {"rcode", rcode}});
    return m ? m->counter.value : 0.0;
  };
  CHECK(requests(first, "NOERROR") == 1);
  CHECK(requests(first, "timeout") == 0);  // not 5 s old yet
  auto* served = find_metric(first, "kpod_dns_server_responses_total", {{"pod", "resolver"}, {"rcode", "NOERROR"}});
  REQUIRE(served != nullptr);
  CHECK(served->counter.value == 1);

  // The client pod goes: its query that never got an answer is a timeout now, in its last values.
  pods.tree.remove_pod(kUidClient);
  pods.lookup.remove(kUidClient);
  reg->rescan();
  auto last = reg->Collect();
  CHECK(requests(last, "NOERROR") == 1);
  CHECK(requests(last, "timeout") == 1);
  auto gone = reg->Collect();
  CHECK(find_metric(gone, "kpod_dns_requests_total", {{"pod", "client"}}) == nullptr);
}

TEST_CASE("dns: a filtered pod's queries get no map entry", "[bpf][dns][filter]") {
  NODEPACK_REQUIRE_BPF_OR_SKIP();
  Pods pods("kube-system");  // left out by the default --kpod.exclude-namespaces
  auto reg = nb::test::registry_for({"dns"}, pods.tree.root(), pods.lookup, std::make_unique<nb::KernelFeatureProbe>(),
                                    nodepack::kpod::PodScope::create(nodepack::kpod::PodScopeOptions{}).value());
  reg->start();
  REQUIRE(reg->status()["dns"]);

  serve_and_ask(pods, 2, 0, [] {
    int udp = nb::test::udp_socket_to(kServer);
    const bool ok = udp >= 0 && nb::test::ask_udp(udp, 1, "ok.test", 4s) == nb::test::kRcodeNoError &&
                    !nb::test::ask_udp(udp, 2, "drop.test", 50ms).has_value();
    return ok ? 0 : 20;
  });
  auto families = reg->Collect();
  CHECK(find_metric(families, "kpod_dns_requests_total", {{"pod", "client"}}) == nullptr);
  CHECK(find_metric(families, "kpod_dns_latency_seconds", {{"pod", "client"}}) == nullptr);
  // Not even the unanswered query waits in the map (it would for 5 s had it been remembered).
  auto* inflight = find_metric(families, "nodepack_bpf_map_entries", {{"collector", "dns"}, {"map", "inflight"}});
  REQUIRE(inflight != nullptr);
  CHECK(inflight->gauge.value == 0);
  auto* dns = dynamic_cast<nb::DnsCollector*>(reg->find("dns"));
  REQUIRE(dns != nullptr);
  const auto client_cg = nodepack::testing::inode_of(pods.client);
  for (const auto& [id, v] : dns->read_cgroups()) {
    CHECK(id != client_cg);
  }
  // The tracked server pod is counted as usual.
  auto* served = find_metric(families, "kpod_dns_server_responses_total", {{"pod", "resolver"}, {"rcode", "NOERROR"}});
  REQUIRE(served != nullptr);
  CHECK(served->counter.value == 1);
}
