// The agent's endpoint authentication and authorization, against a fake of the API server's
// reviews: 401 without a valid token, 403 without the right, answers cached and reused for a
// while, stale answers kept while the API server is away, 503 when there is none.

#include "agent/endpoint_auth.hpp"
#include "common/clock.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <catch2/catch.hpp>

#include <map>
#include <set>

using namespace nodepack;
namespace bhttp = boost::beast::http;

namespace {

class FakeReviewer final : public kube::AccessReviewer {
 public:
  std::map<std::string, kube::ReviewedUser> tokens;
  std::set<std::pair<std::string, std::string>> grants;  // (user, path)
  bool down = false;
  int token_calls = 0;
  int access_calls = 0;

  boost::asio::awaitable<Result<std::optional<kube::ReviewedUser>>> review_token(std::string token) override {
    ++token_calls;
    if (down) {
      co_return fail("connection refused");
    }
    auto it = tokens.find(token);
    co_return it == tokens.end() ? std::nullopt : std::optional(it->second);
  }
  boost::asio::awaitable<Result<bool>> review_access(const kube::ReviewedUser& user, std::string path,
                                                     std::string verb) override {
    ++access_calls;
    if (down) {
      co_return fail("connection refused");
    }
    co_return verb == "get" && grants.contains({user.name, path});
  }
};

http::Request get(const std::string& target, const std::string& token = "") {
  http::Request r{bhttp::verb::get, target, 11};
  if (!token.empty()) {
    r.set(bhttp::field::authorization, "Bearer " + token);
  }
  return r;
}

// The status the check answers, 0 when it lets the request through.
unsigned check(agent::EndpointAuth& auth, const http::Request& request) {
  boost::asio::io_context io;
  auto result = boost::asio::co_spawn(io, auth.check(request), boost::asio::use_future);
  io.run();
  auto reply = result.get();
  return reply ? reply->response.result_int() : 0;
}

}  // namespace

TEST_CASE("endpoint auth: no token or a forged one is 401; a user without the path is 403; a grant passes") {
  FakeReviewer reviewer;
  reviewer.tokens["prom"] = {"system:serviceaccount:monitoring:prometheus", {"system:authenticated"}};
  reviewer.grants.insert({"system:serviceaccount:monitoring:prometheus", "/metrics"});
  ManualClock clock;
  agent::EndpointAuth auth(reviewer, clock);
  CHECK(check(auth, get("/metrics")) == 401);
  CHECK(check(auth, get("/metrics", "forged")) == 401);
  CHECK(check(auth, get("/metrics", "prom")) == 0);
  CHECK(check(auth, get("/metrics?name[]=x", "prom")) == 0);  // the query is not part of the path
  CHECK(check(auth, get("/debug/pods", "prom")) == 403);
  CHECK(auth.stats().allowed == 2);
  CHECK(auth.stats().forbidden == 1);
  CHECK(auth.stats().unauthenticated == 2);
}

TEST_CASE("endpoint auth: answers are cached for their time, then asked again") {
  FakeReviewer reviewer;
  reviewer.tokens["prom"] = {"prometheus", {}};
  reviewer.grants.insert({"prometheus", "/metrics"});
  ManualClock clock;
  agent::EndpointAuthOptions options;
  options.token_ttl = std::chrono::seconds(120);
  options.allowed_ttl = std::chrono::seconds(300);
  options.denied_ttl = std::chrono::seconds(30);
  agent::EndpointAuth auth(reviewer, clock, options);
  for (int i = 0; i < 20; ++i) {
    CHECK(check(auth, get("/metrics", "prom")) == 0);  // a scrape every 15 s costs no review
  }
  CHECK(reviewer.token_calls == 1);
  CHECK(reviewer.access_calls == 1);
  CHECK(check(auth, get("/sync", "prom")) == 403);
  clock.advance(std::chrono::seconds(31));
  reviewer.grants.insert({"prometheus", "/sync"});  // RBAC changed: a denial is not kept long
  CHECK(check(auth, get("/sync", "prom")) == 0);
  clock.advance(std::chrono::seconds(100));  // 131 s: past the token's 120 s
  CHECK(check(auth, get("/metrics", "prom")) == 0);
  CHECK(reviewer.token_calls == 2);
}

TEST_CASE("endpoint auth: while the API server is away, recent answers stand; without one it is 503") {
  FakeReviewer reviewer;
  reviewer.tokens["agg"] = {"aggregator", {}};
  reviewer.grants.insert({"aggregator", "/report"});
  ManualClock clock;
  agent::EndpointAuth auth(reviewer, clock);
  CHECK(check(auth, get("/report", "agg")) == 0);
  reviewer.down = true;
  clock.advance(std::chrono::seconds(400));  // past every ttl, within the 600 s stale bound
  CHECK(check(auth, get("/report", "agg")) == 0);
  CHECK(check(auth, get("/report", "someone-new")) == 503);
  clock.advance(std::chrono::seconds(300));  // 700 s: too old to trust
  CHECK(check(auth, get("/report", "agg")) == 503);
  CHECK(auth.stats().unavailable == 2);
  CHECK(auth.stats().review_errors >= 3);
}

TEST_CASE("endpoint auth: a flood of distinct tokens stays within the cache bound") {
  FakeReviewer reviewer;
  ManualClock clock;
  agent::EndpointAuthOptions options;
  options.max_entries = 64;
  agent::EndpointAuth auth(reviewer, clock, options);
  for (int i = 0; i < 1000; ++i) {
    CHECK(check(auth, get("/metrics", "t" + std::to_string(i))) == 401);
  }
  reviewer.tokens["real"] = {"real", {}};
  reviewer.grants.insert({"real", "/metrics"});
  CHECK(check(auth, get("/metrics", "real")) == 0);
  CHECK(reviewer.token_calls == 1001);  // every unknown token was asked once: none was cached as valid
}
