#pragma once

// Who may read the agent's endpoints, decided as kube-rbac-proxy decides it in front of
// node_exporter and kube-state-metrics: the caller's bearer token through a TokenReview, then its
// right to the path through a SubjectAccessReview (a non-resource URL, the verb from the method:
// RBAC's `nonResourceURLs: ["/metrics"]`), both asked of the API server and cached. Probes
// (/healthz, /readyz) stay open: the kubelet sends no token.

#include "common/clock.hpp"
#include "common/result.hpp"
#include "http/server.hpp"
#include "kube/access_review.hpp"

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <boost/asio/awaitable.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace nodepack::agent {

using kube::AccessReviewer;
using kube::ReviewedUser;

struct EndpointAuthOptions {
  std::chrono::seconds token_ttl{120};    // a token's user, once reviewed
  std::chrono::seconds allowed_ttl{300};  // an allowed (user, path, verb)
  std::chrono::seconds denied_ttl{30};    // a denied one: RBAC changes take effect soon
  // While the API server cannot be asked, an answer this old is still used (a scrape must not
  // fail for every API server blip); past it the request gets 503.
  std::chrono::seconds stale_ttl{600};
  std::size_t max_entries = 4096;  // per cache; the oldest go first
};

struct EndpointAuthStats {
  std::atomic<std::uint64_t> allowed{0};
  std::atomic<std::uint64_t> unauthenticated{0};  // no token, or one nobody owns: 401
  std::atomic<std::uint64_t> forbidden{0};        // a user without the right: 403
  std::atomic<std::uint64_t> unavailable{0};      // the API server could not be asked: 503
  std::atomic<std::uint64_t> token_reviews{0};
  std::atomic<std::uint64_t> access_reviews{0};
  std::atomic<std::uint64_t> review_errors{0};
};

class EndpointAuth {
 public:
  EndpointAuth(AccessReviewer& reviewer, const Clock& clock, EndpointAuthOptions options = {});

  // nullopt: let the request through. Otherwise the reply to send instead (401, 403 or 503).
  boost::asio::awaitable<std::optional<http::Reply>> check(const http::Request& request);

  const EndpointAuthStats& stats() const { return stats_; }

 private:
  template <class Value>
  struct Entry {
    Value value;
    std::chrono::steady_clock::time_point at;
    std::chrono::seconds ttl;
  };
  template <class Value>
  using Cache = std::map<std::string, Entry<Value>>;

  // A fresh entry; or, when `stale_ok`, one within stale_ttl.
  template <class Value>
  std::optional<Value> lookup(Cache<Value>& cache, const std::string& key, bool stale_ok);
  template <class Value>
  void store(Cache<Value>& cache, std::string key, Value value, std::chrono::seconds ttl);

  boost::asio::awaitable<Result<std::optional<ReviewedUser>>> user_of(const std::string& token);
  boost::asio::awaitable<Result<bool>> may(const ReviewedUser& user, const std::string& path, const std::string& verb);

  AccessReviewer& reviewer_;
  const Clock& clock_;
  EndpointAuthOptions options_;
  std::mutex mu_;  // guards both caches (scrapes run on the io thread, tests call from others)
  Cache<std::optional<ReviewedUser>> users_;  // key: SHA-256 of the token, never the token
  Cache<bool> decisions_;                     // key: user, groups, verb, path
  EndpointAuthStats stats_;
};

// nodepack_agent_auth_requests_total{result} and nodepack_agent_auth_reviews_total{review,result}.
class EndpointAuthCollector final : public prometheus::Collectable {
 public:
  explicit EndpointAuthCollector(const EndpointAuth& auth) : auth_(auth) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const EndpointAuth& auth_;
};

// The verb RBAC checks for an HTTP method (get, post, put, delete, patch, head → get).
std::string rbac_verb(boost::beast::http::verb method);

}  // namespace nodepack::agent
