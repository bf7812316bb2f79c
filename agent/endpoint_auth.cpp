#include "agent/endpoint_auth.hpp"

#include "metrics/family.hpp"

#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <cstdio>

namespace nodepack::agent {
namespace {

namespace bhttp = boost::beast::http;

std::string token_key(std::string_view token) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(token.data(), token.size(), digest, &size, EVP_sha256(), nullptr);
  std::string out;
  char hex[3];
  for (unsigned i = 0; i < size; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", digest[i]);
    out += hex;
  }
  return out;
}

http::Reply refuse(const http::Request& request, bhttp::status status, std::string body) {
  auto response = http::make_response(request, status, std::move(body));
  if (status == bhttp::status::unauthorized) {
    response.set(bhttp::field::www_authenticate, R"(Bearer realm="nodepack-agent")");
  }
  if (status == bhttp::status::service_unavailable) {
    response.set(bhttp::field::retry_after, "5");
  }
  return http::Reply{std::move(response), {}};
}

}  // namespace

std::string rbac_verb(bhttp::verb method) {
  switch (method) {
    case bhttp::verb::post:
      return "post";
    case bhttp::verb::put:
      return "put";
    case bhttp::verb::delete_:
      return "delete";
    case bhttp::verb::patch:
      return "patch";
    default:
      return "get";  // GET and HEAD
  }
}

EndpointAuth::EndpointAuth(AccessReviewer& reviewer, const Clock& clock, EndpointAuthOptions options)
    : reviewer_(reviewer), clock_(clock), options_(options) {}

template <class Value>
std::optional<Value> EndpointAuth::lookup(Cache<Value>& cache, const std::string& key, bool stale_ok) {
  std::lock_guard lock(mu_);
  auto it = cache.find(key);
  if (it == cache.end()) {
    return std::nullopt;
  }
  const auto age = clock_.steady_now() - it->second.at;
  if (age <= it->second.ttl || (stale_ok && age <= options_.stale_ttl)) {
    return it->second.value;
  }
  return std::nullopt;
}

template <class Value>
void EndpointAuth::store(Cache<Value>& cache, std::string key, Value value, std::chrono::seconds ttl) {
  std::lock_guard lock(mu_);
  const auto now = clock_.steady_now();
  if (cache.size() >= options_.max_entries && !cache.contains(key)) {
    // Expired entries go first, then the oldest: a flood of distinct tokens costs its own entries.
    auto oldest = cache.begin();
    for (auto it = cache.begin(); it != cache.end();) {
      if (now - it->second.at > options_.stale_ttl) {
        it = cache.erase(it);
        continue;
      }
      if (it->second.at < oldest->second.at) {
        oldest = it;
      }
      ++it;
    }
    if (cache.size() >= options_.max_entries && !cache.empty()) {
      cache.erase(oldest);
    }
  }
  cache.insert_or_assign(std::move(key), Entry<Value>{std::move(value), now, ttl});
}

boost::asio::awaitable<Result<std::optional<ReviewedUser>>> EndpointAuth::user_of(const std::string& token) {
  const std::string key = token_key(token);
  if (auto cached = lookup(users_, key, false)) {
    co_return *cached;
  }
  ++stats_.token_reviews;
  auto reviewed = co_await reviewer_.review_token(token);
  if (!reviewed) {
    ++stats_.review_errors;
    if (auto stale = lookup(users_, key, true)) {
      co_return *stale;
    }
    co_return reviewed.error();
  }
  store(users_, key, *reviewed, options_.token_ttl);
  co_return *reviewed;
}

boost::asio::awaitable<Result<bool>> EndpointAuth::may(const ReviewedUser& user, const std::string& path,
                                                       const std::string& verb) {
  std::string key = user.name;
  for (const auto& g : user.groups) {
    key += "\n" + g;
  }
  key += "\n\n" + verb + " " + path;
  if (auto cached = lookup(decisions_, key, false)) {
    co_return *cached;
  }
  ++stats_.access_reviews;
  auto decided = co_await reviewer_.review_access(user, path, verb);
  if (!decided) {
    ++stats_.review_errors;
    if (auto stale = lookup(decisions_, key, true)) {
      co_return *stale;
    }
    co_return decided.error();
  }
  store(decisions_, std::move(key), *decided, *decided ? options_.allowed_ttl : options_.denied_ttl);
  co_return *decided;
}

boost::asio::awaitable<std::optional<http::Reply>> EndpointAuth::check(const http::Request& request) {
  constexpr std::string_view bearer = "Bearer ";
  const auto header = request[bhttp::field::authorization];
  if (header.size() <= bearer.size() || !header.starts_with(bearer)) {
    ++stats_.unauthenticated;
    co_return refuse(request, bhttp::status::unauthorized, "Unauthorized: a bearer token is required\n");
  }
  const std::string token(header.substr(bearer.size()));
  auto user = co_await user_of(token);
  if (!user) {
    ++stats_.unavailable;
    spdlog::warn("endpoint auth: cannot review a token: {}", user.error().message);
    co_return refuse(request, bhttp::status::service_unavailable,
                     "cannot verify the token now (the API server did not answer)\n");
  }
  if (!*user) {
    ++stats_.unauthenticated;
    co_return refuse(request, bhttp::status::unauthorized, "Unauthorized: the token is not valid\n");
  }
  const std::string path(http::target_path(request));
  const std::string verb = rbac_verb(request.method());
  auto allowed = co_await may(**user, path, verb);
  if (!allowed) {
    ++stats_.unavailable;
    spdlog::warn("endpoint auth: cannot review access for {}: {}", (*user)->name, allowed.error().message);
    co_return refuse(request, bhttp::status::service_unavailable,
                     "cannot verify access now (the API server did not answer)\n");
  }
  if (!*allowed) {
    ++stats_.forbidden;
    co_return refuse(request, bhttp::status::forbidden,
                     "Forbidden (user=" + (*user)->name + ", verb=" + verb + ", path=" + path + ")\n");
  }
  ++stats_.allowed;
  co_return std::nullopt;
}

std::vector<prometheus::MetricFamily> EndpointAuthCollector::Collect() const {
  using metrics::Family;
  const auto& s = auth_.stats();
  auto requests = Family::counter("nodepack_agent_auth_requests_total",
                                  "Requests to the agent's protected endpoints by outcome: allowed, unauthenticated "
                                  "(401), forbidden (403), unavailable (503: the API server could not be asked)");
  requests.add({{"result", "allowed"}}, static_cast<double>(s.allowed.load()));
  requests.add({{"result", "unauthenticated"}}, static_cast<double>(s.unauthenticated.load()));
  requests.add({{"result", "forbidden"}}, static_cast<double>(s.forbidden.load()));
  requests.add({{"result", "unavailable"}}, static_cast<double>(s.unavailable.load()));
  auto reviews =
      Family::counter("nodepack_agent_auth_reviews_total",
                      "TokenReviews and SubjectAccessReviews the agent asked (cached answers are not asked)");
  reviews.add({{"review", "token"}}, static_cast<double>(s.token_reviews.load()));
  reviews.add({{"review", "access"}}, static_cast<double>(s.access_reviews.load()));
  auto errors = Family::counter("nodepack_agent_auth_review_errors_total",
                                "Reviews that could not be asked (the API server unreachable or failing)");
  errors.add({}, static_cast<double>(s.review_errors.load()));
  std::vector<prometheus::MetricFamily> out;
  metrics::emit(out, requests, reviews, errors);
  return out;
}

}  // namespace nodepack::agent
