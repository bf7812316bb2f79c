// The reflector against the fake API server with objects larger than its bounds: a list page over
// max_list_bytes fails, is counted and named, and is retried paginated; a watch event over
// max_event_bytes ends the watch and the reflector relists. The sink keeps what it had meanwhile.

#include "kube/reflector.hpp"
#include "sim/fake_api_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace net = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using nodepack::Result;
using nodepack::SystemClock;
using nodepack::kube::ApiClient;
using nodepack::kube::ClusterConfig;
using nodepack::kube::Reflector;
using nodepack::kube::ReflectorOptions;
using nodepack::kube::ReflectorSink;
using nodepack::kube::WatchEventType;
using nodepack::sim::FakeApiServer;
using nodepack::sim::Kind;

namespace {

json::object pod(const std::string& name, std::size_t padding) {
  return json::object{
      {"metadata",
       json::object{{"name", name}, {"namespace", "default"}, {"annotations", {{"pad", std::string(padding, 'x')}}}}},
      {"spec", json::object{{"nodeName", "n1"}}},
      {"status", json::object{{"phase", "Running"}}}};
}

std::string name_of(const json::value& object) { return std::string(object.at("metadata").at("name").as_string()); }

// What the reflector told its sink, in order: "replace web-1,web-2", "ADDED web-3".
struct RecordingSink : ReflectorSink {
  Result<void> replace(const std::vector<json::value>& items) override {
    std::string names;
    for (const auto& item : items) {
      names += (names.empty() ? "" : ",") + name_of(item);
    }
    calls.push_back("replace " + names);
    return {};
  }
  Result<void> apply(WatchEventType type, const json::value& object) override {
    const char* kind = type == WatchEventType::added      ? "ADDED"
                       : type == WatchEventType::modified ? "MODIFIED"
                                                          : "DELETED";
    calls.push_back(std::string(kind) + " " + name_of(object));
    return {};
  }
  std::vector<std::string> calls;
};

// A sink that takes pages, recording what each call handed it: "begin", "add web-1,web-2", "finish".
struct PagedSink : RecordingSink {
  bool takes_pages() const override { return true; }
  void begin_pages() override { calls.push_back("begin"); }
  Result<void> add_page(const std::vector<json::value>& items) override {
    std::string names;
    for (const auto& item : items) {
      names += (names.empty() ? "" : ",") + name_of(item);
    }
    calls.push_back("add " + names);
    return {};
  }
  Result<void> finish_pages() override {
    calls.push_back("finish");
    return {};
  }
};

ReflectorOptions options() {
  ReflectorOptions o;
  o.resource = "pods";
  o.path = "/api/v1/pods";
  o.initial_backoff = 10ms;
  o.max_backoff = 50ms;
  return o;
}

// Runs `io` until `done` or 30 s, so a broken reflector fails the test instead of hanging it.
template <class Done>
bool run_until(net::io_context& io, Done done) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.run_for(10ms);
  }
  return done();
}

struct Harness {
  Harness() {
    REQUIRE(api.start().has_value());
    ClusterConfig config;
    config.server = api.url();
    client = ApiClient::create(config, SystemClock::instance()).value();
  }
  FakeApiServer api;
  std::unique_ptr<ApiClient> client;
  RecordingSink sink;
  net::io_context io;
};

}  // namespace

TEST_CASE("a list over its bound fails naming the bound, then paginated pages that fit are listed") {
  Harness h;
  for (const auto* name : {"web-1", "web-2", "web-3"}) {
    REQUIRE(h.api.upsert(Kind::pod, pod(name, 100 * 1024)).has_value());
  }
  auto o = options();
  o.max_list_bytes = 256 * 1024;  // each pod fits, the three together do not
  o.page_size = 1;
  Reflector reflector(*h.client, o, h.sink, SystemClock::instance());
  net::co_spawn(h.io, reflector.run(), net::detached);
  REQUIRE(run_until(h.io, [&] { return !h.sink.calls.empty(); }));

  CHECK(h.sink.calls == std::vector<std::string>{"replace web-1,web-2,web-3"});
  const auto s = reflector.status();
  CHECK(s.too_large == 1);
  CHECK(s.errors == 1);
  CHECK(s.lists == 1);
  CHECK(s.last_error.starts_with("list /api/v1/pods: response body"));
  CHECK(s.last_error.ends_with("longer than 262144 bytes (the bound on one list page, --max-list-bytes)"));
  // The cached list (one answer with everything), then three pages of one pod each.
  CHECK(h.api.request_count("list") == 4);
  CHECK(h.client->counters().largest_buffered.load() <= 256 * 1024);
}

TEST_CASE(
    "a watch event over its bound ends the watch; the reflector relists and the sink keeps its state until then") {
  Harness h;
  REQUIRE(h.api.upsert(Kind::pod, pod("web-1", 10)).has_value());
  REQUIRE(h.api.upsert(Kind::pod, pod("web-2", 10)).has_value());
  auto o = options();
  o.max_event_bytes = 64 * 1024;
  o.max_list_bytes = 1024 * 1024;
  Reflector reflector(*h.client, o, h.sink, SystemClock::instance());
  net::co_spawn(h.io, reflector.run(), net::detached);
  REQUIRE(run_until(h.io, [&] { return !h.sink.calls.empty() && h.api.watch_count() == 1; }));
  CHECK(h.sink.calls == std::vector<std::string>{"replace web-1,web-2"});

  // 200 KiB in one event: the watch gives up on it 64 KiB in, before its newline arrives.
  REQUIRE(h.api.upsert(Kind::pod, pod("web-3", 200 * 1024)).has_value());
  REQUIRE(run_until(h.io, [&] { return h.sink.calls.size() == 2; }));
  // Nothing between the two lists: the lost event was not half-applied, the state not dropped.
  CHECK(h.sink.calls == std::vector<std::string>{"replace web-1,web-2", "replace web-1,web-2,web-3"});
  auto s = reflector.status();
  CHECK(s.too_large == 1);
  CHECK(s.errors == 1);
  CHECK(s.lists == 2);
  CHECK(s.last_error ==
        "watch /api/v1/pods: unterminated watch event line longer than 65536 bytes (the bound on one watch event, "
        "--max-watch-event-bytes)");
  CHECK(h.api.request_count("list") == 2);

  // Watching again after the relist (from the list's resourceVersion, so an event that lands before
  // the new watch is replayed to it): small events flow as before.
  REQUIRE(h.api.upsert(Kind::pod, pod("web-4", 10)).has_value());
  REQUIRE(run_until(h.io, [&] { return h.sink.calls.size() == 3; }));
  CHECK(h.sink.calls.back() == "ADDED web-4");
  s = reflector.status();
  CHECK(s.too_large == 1);
  CHECK(s.failing_since == std::nullopt);
}

TEST_CASE("a sink that takes pages is handed a long page's items as they are parsed, not the page at once") {
  Harness h;
  for (const auto* name : {"web-1", "web-2", "web-3", "web-4", "web-5"}) {
    REQUIRE(h.api.upsert(Kind::pod, pod(name, 400 * 1024)).has_value());
  }
  auto o = options();
  o.page_size = 0;  // one page of 2 MB
  PagedSink sink;
  Reflector reflector(*h.client, o, sink, SystemClock::instance());
  net::co_spawn(h.io, reflector.run(), net::detached);
  REQUIRE(run_until(h.io, [&] { return !sink.calls.empty() && sink.calls.back() == "finish"; }));
  // Handed on once a MiB of text has passed (two pods whole, the third being read), then the rest.
  CHECK(sink.calls == std::vector<std::string>{"begin", "add web-1,web-2", "add web-3,web-4,web-5", "finish"});
  CHECK(h.api.request_count("list") == 1);
  CHECK(reflector.status().lists == 1);
}
