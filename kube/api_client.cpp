#include "kube/api_client.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace nodepack::kube {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

ApiError transport_error(const std::string& what, const beast::error_code& ec) {
  return ApiError{ApiErrorKind::transport, what + ": " + ec.message()};
}

void note_buffered(ApiCounters& counters, std::uint64_t held) {
  auto seen = counters.largest_buffered.load(std::memory_order_relaxed);
  while (held > seen && !counters.largest_buffered.compare_exchange_weak(seen, held, std::memory_order_relaxed)) {
  }
}

// A response body gathered without the doubling growth of one string: a body of unknown length
// (chunked) goes into 1 MiB pieces joined once at the end, so what a body of `max_bytes` costs
// while it arrives is `max_bytes`, not twice or three times that. A declared length is reserved
// once.
class BodyBuffer {
 public:
  static constexpr std::size_t piece = 1 << 20;

  explicit BodyBuffer(std::optional<std::uint64_t> length) {
    if (length) {
      joined_.reserve(static_cast<std::size_t>(*length));
    }
    declared_ = length.has_value();
  }
  std::size_t size() const { return size_; }
  void append(const char* data, std::size_t n) {
    size_ += n;
    if (declared_) {
      joined_.append(data, n);
      return;
    }
    while (n > 0) {
      if (pieces_.empty() || pieces_.back().size() == piece) {
        pieces_.emplace_back().reserve(piece);
      }
      const auto take = std::min(n, piece - pieces_.back().size());
      pieces_.back().append(data, take);
      data += take;
      n -= take;
    }
  }
  std::string take() && {
    if (!declared_) {
      joined_.reserve(size_);
      for (auto& p : pieces_) {
        joined_ += p;
        std::string().swap(p);
      }
    }
    return std::move(joined_);
  }

 private:
  bool declared_ = false;
  std::size_t size_ = 0;
  std::string joined_;
  std::vector<std::string> pieces_;
};

// Appends to a watch's unfinished line, growing its capacity at most to `bound` plus a slice, so
// an endless line costs about `bound`, not the next power of two above it.
void append_bounded(std::string& line, const char* data, std::size_t n, std::uint64_t bound) {
  if (line.size() + n > line.capacity()) {
    const auto cap = static_cast<std::size_t>(std::min<std::uint64_t>(bound + n, line.capacity() * 2));
    line.reserve(std::max(cap, line.size() + n));
  }
  line.append(data, n);
}

// Reads the response body in slices so a watch is processed line by line, and a streamed body
// piece by piece, as it arrives. What is held at once (the whole body, a watch's unfinished line,
// or one slice passed on) stays within `max_bytes` plus one slice; a watch as a whole is
// unbounded, since it runs for minutes, and a streamed body's bytes are counted against
// `max_bytes` as they pass.
template <class Stream>
asio::awaitable<ApiResult<ApiResponse>> read_response(Stream& stream, std::function<void(std::string_view)>* on_line,
                                                      ApiClient::BodyPieces* on_piece,
                                                      std::function<void(unsigned)>* on_open,
                                                      std::chrono::milliseconds timeout, std::uint64_t max_bytes,
                                                      ApiCounters& counters) {
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);  // enforced below, on what is held rather than on what passed
  parser.header_limit(64 * 1024);
  beast::get_lowest_layer(stream).expires_after(timeout);
  auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, use_nothrow);
  if (ec) {
    co_return transport_error("reading response headers", ec);
  }
  ApiResponse response;
  response.status = parser.get().result_int();
  if (on_open != nullptr) {
    (*on_open)(response.status);
  }
  const bool lines = on_line != nullptr && response.status == 200;
  const bool pieces = on_piece != nullptr && response.status == 200;
  const bool whole = !lines && !pieces;
  const auto bound = std::to_string(max_bytes);
  const auto too_large = [&](const std::string& what) {
    return ApiError{ApiErrorKind::too_large, what + " longer than " + bound + " bytes"};
  };
  if (const auto length = parser.content_length(); !lines && length && *length > max_bytes) {
    co_return too_large("response body of " + std::to_string(*length) + " bytes (Content-Length) is");
  }
  std::string pending;  // bytes after the last newline
  std::optional<std::uint64_t> declared;
  if (const auto length = parser.content_length(); length && whole) {
    declared = *length;
  }
  BodyBuffer body(declared);
  std::uint64_t passed = 0;  // a streamed body's bytes so far
  char slice[16 * 1024];
  while (!parser.is_done()) {
    parser.get().body().data = slice;
    parser.get().body().size = sizeof slice;
    beast::get_lowest_layer(stream).expires_after(timeout);
    std::tie(ec, n) = co_await http::async_read_some(stream, buffer, parser, use_nothrow);
    if (ec == http::error::need_buffer) {
      ec = {};
    }
    const std::size_t got = sizeof slice - parser.get().body().size;
    if (whole) {
      if (body.size() + got > max_bytes) {
        co_return too_large("response body");
      }
      body.append(slice, got);
      note_buffered(counters, body.size());
    } else if (pieces) {
      if (passed + got > max_bytes) {
        co_return too_large("response body");
      }
      passed += got;
      note_buffered(counters, passed);
      if (got > 0) {
        if (auto taken = (*on_piece)(std::string_view(slice, got)); !taken) {
          co_return ApiError{ApiErrorKind::bad_answer, taken.error().message};
        }
      }
    } else {
      // Only the new bytes can hold a newline: the held ones were searched when they arrived (a
      // search from the start each time is quadratic in a long line).
      const auto searched = pending.size();
      append_bounded(pending, slice, got, max_bytes);
      note_buffered(counters, pending.size());
      std::size_t start = 0;
      for (std::size_t nl, from = searched; (nl = pending.find('\n', from)) != std::string::npos;
           start = nl + 1, from = start) {
        if (nl - start > max_bytes) {
          co_return too_large("watch event line");
        }
        (*on_line)(std::string_view(pending).substr(start, nl - start));
      }
      pending.erase(0, start);
      if (pending.size() > max_bytes) {
        co_return too_large("unterminated watch event line");
      }
    }
    if (ec) {
      co_return transport_error(lines ? "reading watch stream" : "reading response body", ec);
    }
  }
  if (lines && !pending.empty()) {
    (*on_line)(pending);
  }
  if (whole) {
    response.body = std::move(body).take();
  }
  co_return response;
}

}  // namespace

Result<ServerUrl> parse_server_url(std::string_view url, std::string_view what) {
  const auto bad = [&](std::string_view why) {
    return fail(std::string(what) + " URL \"" + std::string(url) + "\" " + std::string(why));
  };
  ServerUrl out;
  std::string_view rest = url;
  if (rest.rfind("https://", 0) == 0) {
    out.tls = true;
    rest.remove_prefix(8);
  } else if (rest.rfind("http://", 0) == 0) {
    rest.remove_prefix(7);
  } else {
    return bad("must start with http:// or https://");
  }
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    out.path = std::string(rest.substr(slash));
    while (!out.path.empty() && out.path.back() == '/') {
      out.path.pop_back();
    }
    rest = rest.substr(0, slash);
  }
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) {
      return bad("has an unterminated IPv6 address");
    }
    out.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    out.port = rest.starts_with(":") ? std::string(rest.substr(1)) : "";
  } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    out.host = std::string(rest.substr(0, colon));
    out.port = std::string(rest.substr(colon + 1));
  } else {
    out.host = std::string(rest);
  }
  if (out.host.empty()) {
    return bad("has no host");
  }
  if (out.port.empty()) {
    out.port = out.tls ? "443" : "80";
  }
  return out;
}

Result<std::unique_ptr<asio::ssl::context>> make_tls_client_context(const ClusterConfig& config,
                                                                    const std::string& verify_name) {
  try {
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    ctx->set_options(asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1);
    if (config.insecure_skip_tls_verify) {
      ctx->set_verify_mode(asio::ssl::verify_none);
    } else {
      if (config.ca_pem.empty()) {
        ctx->set_default_verify_paths();
      } else {
        ctx->add_certificate_authority(asio::buffer(config.ca_pem));
      }
      ctx->set_verify_mode(asio::ssl::verify_peer);
      ctx->set_verify_callback(asio::ssl::host_name_verification(verify_name));
    }
    if (!config.client_cert_pem.empty()) {
      ctx->use_certificate_chain(asio::buffer(config.client_cert_pem));
      ctx->use_private_key(asio::buffer(config.client_key_pem), asio::ssl::context::pem);
    }
    return ctx;
  } catch (const boost::system::system_error& e) {
    return fail("TLS setup for " + config.server + " failed: " + e.what());
  }
}

Result<std::unique_ptr<ApiClient>> ApiClient::create(const ClusterConfig& config, const Clock& clock,
                                                     ApiClientOptions options) {
  std::unique_ptr<ApiClient> client(new ApiClient());
  client->server_ = config.server;
  auto url = parse_server_url(config.server, "API server");
  if (!url) {
    return url.error();
  }
  if (!url->path.empty()) {
    return fail("API server URL \"" + config.server + "\" has a path; nodepack needs the server root");
  }
  client->tls_ = url->tls;
  client->host_ = url->host;
  client->port_ = url->port;
  client->sni_name_ = config.tls_server_name.empty() ? client->host_ : config.tls_server_name;

  if (client->tls_) {
    auto ctx = make_tls_client_context(config, client->sni_name_);
    if (!ctx) {
      return ctx.error();
    }
    client->ssl_ = std::move(*ctx);
  }
  client->credentials_ = std::make_unique<CredentialProvider>(config, clock, options.exec_timeout);
  return client;
}

ApiClient::~ApiClient() = default;

asio::awaitable<ApiResult<ApiResponse>> ApiClient::retried_once(const Outgoing& out, BodyReader reader,
                                                                std::chrono::milliseconds timeout,
                                                                std::uint64_t max_bytes) {
  for (int attempt = 0;; ++attempt) {
    auto response = co_await request(out, reader, timeout, max_bytes);
    if (response && response->status == 401 && attempt == 0) {
      credentials_->invalidate();
      continue;
    }
    co_return response;
  }
}

asio::awaitable<ApiResult<ApiResponse>> ApiClient::get(std::string target, std::chrono::milliseconds timeout,
                                                       std::uint64_t max_body_bytes) {
  // A named request, not a temporary in the co_await expression: gcc 12 destroys such temporaries
  // twice across a suspension.
  const Outgoing out{http::verb::get, std::move(target), {}};
  const BodyReader whole;
  auto response = co_await retried_once(out, whole, timeout, max_body_bytes);
  co_return response;
}

asio::awaitable<ApiResult<ApiResponse>> ApiClient::get_pieces(std::string target, BodyPieces on_piece,
                                                              std::chrono::milliseconds timeout,
                                                              std::uint64_t max_body_bytes) {
  const Outgoing out{http::verb::get, std::move(target), {}};  // named: see get()
  const BodyReader reader{nullptr, &on_piece, nullptr};
  auto response = co_await retried_once(out, reader, timeout, max_body_bytes);
  co_return response;
}

asio::awaitable<ApiResult<ApiResponse>> ApiClient::send(http::verb method, std::string target, std::string body,
                                                        std::chrono::milliseconds timeout,
                                                        std::uint64_t max_body_bytes) {
  const Outgoing out{method, std::move(target), std::move(body)};
  const BodyReader whole;
  auto response = co_await retried_once(out, whole, timeout, max_body_bytes);
  co_return response;
}

asio::awaitable<ApiResult<ApiResponse>> ApiClient::stream(std::string target,
                                                          std::function<void(std::string_view)> on_line,
                                                          std::function<void(unsigned)> on_open,
                                                          std::chrono::milliseconds idle_timeout,
                                                          std::uint64_t max_line_bytes) {
  ++counters_.watch_requests;
  const Outgoing out{http::verb::get, std::move(target), {}};  // named: see get()
  const BodyReader reader{&on_line, nullptr, &on_open};
  auto response = co_await request(out, reader, idle_timeout, max_line_bytes);
  if (response && response->status == 401) {
    credentials_->invalidate();  // the caller retries with backoff; the next try gets fresh credentials
  }
  co_return response;
}

asio::awaitable<ApiResult<ApiResponse>> ApiClient::request(const Outgoing& out, BodyReader reader,
                                                           std::chrono::milliseconds timeout, std::uint64_t max_bytes) {
  ++counters_.requests;
  auto auth = co_await credentials_->async_authorization();
  if (!auth) {
    ++counters_.errors;
    co_return ApiError{ApiErrorKind::credentials, auth.error().message};
  }
  http::request<http::string_body> req{out.method, out.target, 11};
  req.set(http::field::host, host_.find(':') != std::string::npos ? "[" + host_ + "]:" + port_ : host_ + ":" + port_);
  req.set(http::field::user_agent, "nodepack");
  req.set(http::field::accept, "application/json");
  if (!auth->empty()) {
    req.set(http::field::authorization, *auth);
  }
  if (!out.body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = out.body;
  }
  req.prepare_payload();

  auto executor = co_await asio::this_coro::executor;
  tcp::resolver resolver(executor);
  auto [rec, endpoints] = co_await resolver.async_resolve(host_, port_, use_nothrow);
  if (rec) {
    ++counters_.errors;
    co_return transport_error("resolving " + host_, rec);
  }

  ApiResult<ApiResponse> result = ApiError{ApiErrorKind::transport, "unreachable"};
  if (tls_) {
    beast::ssl_stream<beast::tcp_stream> stream(executor, *ssl_);
    if (!SSL_set_tlsext_host_name(stream.native_handle(), sni_name_.c_str())) {
      co_return ApiError{ApiErrorKind::transport, "TLS: cannot set SNI name " + sni_name_};
    }
    beast::get_lowest_layer(stream).expires_after(timeout);
    auto [cec, ep] = co_await beast::get_lowest_layer(stream).async_connect(endpoints, use_nothrow);
    if (cec) {
      ++counters_.errors;
      co_return transport_error("connecting to " + server_, cec);
    }
    auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, use_nothrow);
    if (hec) {
      ++counters_.errors;
      co_return transport_error("TLS handshake with " + server_, hec);
    }
    auto [wec, wn] = co_await http::async_write(stream, req, use_nothrow);
    if (wec) {
      ++counters_.errors;
      co_return transport_error("sending request", wec);
    }
    result =
        co_await read_response(stream, reader.on_line, reader.on_piece, reader.on_open, timeout, max_bytes, counters_);
    if (result) {
      // A close_notify exchange only after a complete answer: after an abandoned one the server is
      // still sending, and waiting for its close_notify would read on through the excess.
      beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(1));
      co_await stream.async_shutdown(use_nothrow);
    }
  } else {
    beast::tcp_stream stream(executor);
    stream.expires_after(timeout);
    auto [cec, ep] = co_await stream.async_connect(endpoints, use_nothrow);
    if (cec) {
      ++counters_.errors;
      co_return transport_error("connecting to " + server_, cec);
    }
    auto [wec, wn] = co_await http::async_write(stream, req, use_nothrow);
    if (wec) {
      ++counters_.errors;
      co_return transport_error("sending request", wec);
    }
    result =
        co_await read_response(stream, reader.on_line, reader.on_piece, reader.on_open, timeout, max_bytes, counters_);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }
  if (!result) {
    if (result.error().kind == ApiErrorKind::transport) {
      ++counters_.errors;  // transport errors only: a body over its bound is the reflector's to count
    }
  } else if (result->status == 401) {
    ++counters_.unauthorized;
  }
  co_return result;
}

}  // namespace nodepack::kube
