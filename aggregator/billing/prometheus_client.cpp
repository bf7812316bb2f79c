#include "aggregator/billing/prometheus_client.hpp"

#include "kube/api_client.hpp"
#include "kube/credentials.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace nodepack::billing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

PromFailure unavailable(std::string reason) { return PromFailure{PromFailure::Kind::unavailable, std::move(reason)}; }

std::optional<double> number(const json::value& v) {
  if (const auto* s = v.if_string()) {
    const std::string text(*s);
    char* end = nullptr;
    const double d = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || *end != '\0') {
      return std::nullopt;
    }
    return d;
  }
  if (v.is_number()) {
    return v.to_number<double>();
  }
  return std::nullopt;
}

std::optional<std::pair<double, double>> point(const json::value& v) {
  const auto* a = v.if_array();
  if (a == nullptr || a->size() != 2) {
    return std::nullopt;
  }
  auto t = number((*a)[0]);
  auto x = number((*a)[1]);
  if (!t || !x) {
    return std::nullopt;
  }
  return std::make_pair(*t, *x);
}

std::string format_seconds(std::int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%03lld", static_cast<long long>(ms / 1000), static_cast<long long>(ms % 1000));
  return buf;
}

template <class Stream>
asio::awaitable<PromResult<std::vector<PromSeries>>> exchange(Stream& stream,
                                                              const bhttp::request<bhttp::string_body>& req,
                                                              std::size_t max_bytes, const std::string& url) {
  auto [wec, wn] = co_await bhttp::async_write(stream, req, use_nothrow);
  if (wec) {
    co_return unavailable("sending the query to Prometheus at " + url + ": " + wec.message());
  }
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.header_limit(64 * 1024);
  parser.body_limit(max_bytes);
  auto [rec, rn] = co_await bhttp::async_read(stream, buffer, parser, use_nothrow);
  if (rec == bhttp::error::body_limit) {
    co_return unavailable("Prometheus at " + url + " answered more than " + std::to_string(max_bytes) +
                          " bytes; narrow the range or the namespace");
  }
  if (rec == beast::error::timeout) {
    co_return unavailable("Prometheus at " + url + " did not answer in time");
  }
  if (rec) {
    co_return unavailable("reading Prometheus' answer from " + url + ": " + rec.message());
  }
  co_return parse_query_answer(parser.get().result_int(), parser.get().body());
}

}  // namespace

std::string form_encode(std::string_view value) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size() * 3);
  for (const unsigned char c : value) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

PromResult<std::vector<PromSeries>> parse_query_answer(unsigned http_status, std::string_view body) {
  boost::system::error_code ec;
  const json::value doc = json::parse(body, ec);
  const json::object* root = ec ? nullptr : doc.if_object();
  if (root == nullptr) {
    return unavailable("Prometheus answered HTTP " + std::to_string(http_status) + " without its JSON");
  }
  const auto* status = root->if_contains("status");
  if (status == nullptr || !status->is_string() || status->as_string() != "success") {
    const auto* error = root->if_contains("error");
    if (error != nullptr && error->is_string()) {
      return PromFailure{PromFailure::Kind::error, std::string(error->as_string())};
    }
    return unavailable("Prometheus answered HTTP " + std::to_string(http_status) + " with no result");
  }
  const auto* data = root->if_contains("data");
  const json::object* data_obj = data != nullptr ? data->if_object() : nullptr;
  const json::value* result = data_obj != nullptr ? data_obj->if_contains("result") : nullptr;
  const json::value* type = data_obj != nullptr ? data_obj->if_contains("resultType") : nullptr;
  if (result == nullptr || type == nullptr || !type->is_string()) {
    return unavailable("Prometheus' answer has no data.result");
  }
  std::vector<PromSeries> out;
  if (type->as_string() == "scalar") {
    auto p = point(*result);
    if (!p) {
      return unavailable("Prometheus' scalar answer is malformed");
    }
    out.push_back(PromSeries{{}, {*p}});
    return out;
  }
  const auto* items = result->if_array();
  if (items == nullptr) {
    return unavailable("Prometheus' data.result is not a list");
  }
  for (const auto& item : *items) {
    const auto* obj = item.if_object();
    if (obj == nullptr) {
      return unavailable("Prometheus' data.result holds a non-object");
    }
    PromSeries series;
    if (const auto* metric = obj->if_contains("metric"); metric != nullptr && metric->is_object()) {
      for (const auto& [key, value] : metric->as_object()) {
        if (value.is_string()) {
          series.labels.emplace(std::string(key), std::string(value.as_string()));
        }
      }
    }
    if (const auto* value = obj->if_contains("value")) {
      auto p = point(*value);
      if (!p) {
        return unavailable("Prometheus' vector answer has a malformed value");
      }
      series.points.push_back(*p);
    } else if (const auto* values = obj->if_contains("values"); values != nullptr && values->is_array()) {
      for (const auto& v : values->as_array()) {
        auto p = point(v);
        if (!p) {
          return unavailable("Prometheus' matrix answer has a malformed value");
        }
        series.points.push_back(*p);
      }
    }
    out.push_back(std::move(series));
  }
  return out;
}

Result<std::unique_ptr<PrometheusClient>> PrometheusClient::create(PrometheusOptions options) {
  auto url = kube::parse_server_url(options.url, "--prometheus-url");
  if (!url) {
    return url.error();
  }
  std::unique_ptr<PrometheusClient> client(new PrometheusClient());
  client->tls_ = url->tls;
  client->host_ = url->host;
  client->port_ = url->port;
  client->path_prefix_ = url->path;
  // The API server's TLS and token handling, reused: a CA bundle instead of the system's, and a
  // token file re-read when it changes (keeping the last token while it is being replaced).
  kube::ClusterConfig config;
  config.server = options.url;
  config.token_file = options.bearer_token_file;
  if (!options.ca_file.empty()) {
    if (!client->tls_) {
      return fail("--prometheus-ca-file needs an https:// --prometheus-url");
    }
    std::ifstream in(options.ca_file);
    std::stringstream pem;
    pem << in.rdbuf();
    if (!in || pem.str().find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      return fail("--prometheus-ca-file " + options.ca_file.string() + ": cannot read a PEM certificate from it");
    }
    config.ca_pem = pem.str();
  }
  if (client->tls_) {
    auto ctx = kube::make_tls_client_context(config, client->host_);
    if (!ctx) {
      return ctx.error();
    }
    client->ssl_ = std::move(*ctx);
  }
  if (!options.bearer_token_file.empty()) {
    client->credentials_ = std::make_unique<kube::CredentialProvider>(config, SystemClock::instance());
    // Checked once at start-up, so a wrong path is a start-up error, not a 502 on every query.
    if (auto first = client->credentials_->authorization(); !first) {
      return fail("--prometheus-bearer-token-file: " + first.error().message);
    }
  }
  client->options_ = std::move(options);
  return client;
}

PrometheusClient::~PrometheusClient() = default;

asio::awaitable<PromResult<std::vector<PromSeries>>> PrometheusClient::query(std::string promql, std::int64_t time_ms) {
  co_return co_await post("/api/v1/query", "query=" + form_encode(promql) + "&time=" + format_seconds(time_ms));
}

asio::awaitable<PromResult<std::vector<PromSeries>>> PrometheusClient::query_range(std::string promql,
                                                                                   std::int64_t start, std::int64_t end,
                                                                                   std::int64_t step) {
  co_return co_await post("/api/v1/query_range", "query=" + form_encode(promql) + "&start=" + std::to_string(start) +
                                                     "&end=" + std::to_string(end) + "&step=" + std::to_string(step));
}

asio::awaitable<PromResult<std::vector<PromSeries>>> PrometheusClient::post(std::string path, std::string form) {
  bhttp::request<bhttp::string_body> req{bhttp::verb::post, path_prefix_ + path, 11};
  req.set(bhttp::field::host, host_.find(':') != std::string::npos ? "[" + host_ + "]:" + port_ : host_ + ":" + port_);
  req.set(bhttp::field::user_agent, "nodepack");
  req.set(bhttp::field::accept, "application/json");
  req.set(bhttp::field::content_type, "application/x-www-form-urlencoded");
  if (credentials_) {
    auto authorization = credentials_->authorization();
    if (!authorization) {
      co_return unavailable("the bearer token for Prometheus: " + authorization.error().message);
    }
    req.set(bhttp::field::authorization, *authorization);
  }
  req.body() = std::move(form);
  req.prepare_payload();

  auto executor = co_await asio::this_coro::executor;
  tcp::resolver resolver(executor);
  auto [rec, endpoints] = co_await resolver.async_resolve(host_, port_, use_nothrow);
  if (rec) {
    co_return unavailable("resolving Prometheus host " + host_ + ": " + rec.message());
  }
  const auto& url = options_.url;
  // One deadline for connect, send and read together: a query takes at most `timeout`.
  if (tls_) {
    beast::ssl_stream<beast::tcp_stream> stream(executor, *ssl_);
    if (!SSL_set_tlsext_host_name(stream.native_handle(), host_.c_str())) {
      co_return unavailable("TLS: cannot set SNI name " + host_);
    }
    beast::get_lowest_layer(stream).expires_after(options_.timeout);
    auto [cec, ep] = co_await beast::get_lowest_layer(stream).async_connect(endpoints, use_nothrow);
    if (cec) {
      co_return unavailable("cannot connect to Prometheus at " + url + ": " + cec.message());
    }
    auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, use_nothrow);
    if (hec) {
      co_return unavailable("TLS handshake with Prometheus at " + url + ": " + hec.message());
    }
    auto result = co_await exchange(stream, req, options_.max_bytes, url);
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(1));
    co_await stream.async_shutdown(use_nothrow);
    co_return result;
  }
  beast::tcp_stream stream(executor);
  stream.expires_after(options_.timeout);
  auto [cec, ep] = co_await stream.async_connect(endpoints, use_nothrow);
  if (cec) {
    co_return unavailable("cannot connect to Prometheus at " + url + ": " + cec.message());
  }
  auto result = co_await exchange(stream, req, options_.max_bytes, url);
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return result;
}

}  // namespace nodepack::billing
