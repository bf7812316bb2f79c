#pragma once

// A client for Prometheus' HTTP query API (/api/v1/query, /api/v1/query_range) over Beast
// coroutines: one connection per query (a request is a handful of queries), a time limit for the
// whole exchange, a bound on the answer's size, and failures as values that say whether
// Prometheus could not be asked or answered with an error of its own.

#include "common/result.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nodepack::kube {
class CredentialProvider;
}

namespace nodepack::billing {

struct PromFailure {
  enum class Kind {
    unavailable,  // not reached, timed out, too large, not Prometheus' JSON
    error,        // Prometheus said {"status":"error"}; `reason` is its error text
  };
  Kind kind = Kind::unavailable;
  std::string reason;
};

[[noreturn]] inline void throw_exception_from_error(const PromFailure& e, const boost::source_location&) {
  throw ErrorException(e.reason);
}

template <class T>
using PromResult = boost::system::result<T, PromFailure>;

// One series of an answer: its labels and (time in Unix seconds, value) points; a vector answer
// has one point per series. NaN and infinities are kept as they come.
struct PromSeries {
  std::map<std::string, std::string> labels;
  std::vector<std::pair<double, double>> points;

  std::string label(const std::string& name) const {
    auto it = labels.find(name);
    return it == labels.end() ? std::string() : it->second;
  }
};

// Parses a query API answer (a vector or matrix result; a scalar becomes one unlabelled series).
PromResult<std::vector<PromSeries>> parse_query_answer(unsigned http_status, std::string_view body);

// application/x-www-form-urlencoded encoding of one value.
std::string form_encode(std::string_view value);

struct PrometheusOptions {
  std::string url;  // http(s)://host[:port][/path prefix]
  std::chrono::milliseconds timeout{30'000};
  std::size_t max_bytes = 64 * 1024 * 1024;
  // CA certificate(s) (PEM) an https Prometheus is verified with, instead of the system's.
  std::filesystem::path ca_file;
  // A file holding a bearer token sent with every query (e.g. a service account token behind an
  // authenticating proxy). Re-read when it changes, so a rotated token is picked up.
  std::filesystem::path bearer_token_file;
};

class PrometheusClient {
 public:
  // Fails for an unusable URL.
  static Result<std::unique_ptr<PrometheusClient>> create(PrometheusOptions options);
  ~PrometheusClient();

  // Instant query at `time` (Unix milliseconds).
  boost::asio::awaitable<PromResult<std::vector<PromSeries>>> query(std::string promql, std::int64_t time_ms);
  // Range query: points at start, start+step, ... <= end (Unix seconds, step in seconds).
  boost::asio::awaitable<PromResult<std::vector<PromSeries>>> query_range(std::string promql, std::int64_t start,
                                                                          std::int64_t end, std::int64_t step);

  const std::string& url() const { return options_.url; }

 private:
  PrometheusClient() = default;
  boost::asio::awaitable<PromResult<std::vector<PromSeries>>> post(std::string path, std::string form);

  PrometheusOptions options_;
  bool tls_ = false;
  std::string host_;
  std::string port_;
  std::string path_prefix_;
  std::unique_ptr<boost::asio::ssl::context> ssl_;
  std::unique_ptr<kube::CredentialProvider> credentials_;  // set with a bearer token file
};

}  // namespace nodepack::billing
