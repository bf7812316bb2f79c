// Reply helpers: responses with the usual headers, gzip, and query-string access.

#include "common/strings.hpp"
#include "common/url.hpp"
#include "http/server.hpp"

#include <zlib.h>

#include <cctype>
#include <cstdlib>
#include <limits>
#include <utility>

namespace nodepack::http {

namespace bhttp = boost::beast::http;

namespace {

constexpr std::size_t min_gzip_size = 1024;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Whether an Accept-Encoding value admits gzip: "gzip", "x-gzip" or "*" with a q-value above 0.
bool accepts_gzip(std::string_view header) {
  bool star = false;
  bool gzip_listed = false;
  bool gzip_ok = false;
  while (!header.empty()) {
    const auto comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    const auto semi = item.find(';');
    const std::string_view coding = trim(item.substr(0, semi));
    double q = 1.0;
    if (semi != std::string_view::npos) {
      std::string_view params = item.substr(semi + 1);
      while (!params.empty()) {
        const auto next = params.find(';');
        const std::string_view param = trim(params.substr(0, next));
        params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
        if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
          q = std::strtod(std::string(param.substr(2)).c_str(), nullptr);
        }
      }
    }
    if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) {
      gzip_listed = true;
      gzip_ok = gzip_ok || q > 0;
    } else if (coding == "*") {
      star = q > 0;
    }
  }
  return gzip_listed ? gzip_ok : star;
}

// One gzip compressor per thread, reset between bodies. zlib's deflate state is about 256 KiB,
// above malloc's mmap threshold (common/heap_policy): a fresh one for every gzipped reply (and
// Prometheus asks for every scrape gzipped) is pages mapped, faulted in and unmapped each time.
// Fastest level: on the agent's 219 KB exposition zlib's default level (6) took 1.3 ms, three
// times what rendering it costs; level 1 takes half that for a body about a sixth larger
// (bench/README.md). The aggregator's deflated prefixes use the same level.
class Deflater {
 public:
  Deflater() { ready_ = deflateInit2(&zs_, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK; }
  ~Deflater() {
    if (ready_) {
      deflateEnd(&zs_);
    }
  }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  // The gzip member of `in`, into `out`. The output starts at an eighth of the input (text
  // compresses far better) and doubles when that is not enough, rather than being sized (and
  // zero-filled) for the incompressible worst case.
  bool compress(std::string_view in, std::string& out) {
    if (!ready_ || in.size() > std::numeric_limits<uInt>::max() || deflateReset(&zs_) != Z_OK) {
      return false;
    }
    out.resize(in.size() / 8 + 1024);
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs_.avail_in = static_cast<uInt>(in.size());
    zs_.next_out = reinterpret_cast<Bytef*>(out.data());
    zs_.avail_out = static_cast<uInt>(out.size());
    for (;;) {
      const int rc = deflate(&zs_, Z_FINISH);
      if (rc == Z_STREAM_END) {
        out.resize(zs_.total_out);
        return true;
      }
      if ((rc != Z_OK && rc != Z_BUF_ERROR) || zs_.avail_out != 0) {
        return false;
      }
      const std::size_t used = out.size();
      out.resize(used * 2);
      zs_.next_out = reinterpret_cast<Bytef*>(out.data() + used);
      zs_.avail_out = static_cast<uInt>(out.size() - used);
    }
  }

 private:
  z_stream zs_{};
  bool ready_ = false;
};

bool gzip(std::string_view in, std::string& out) {
  thread_local Deflater deflater;
  return deflater.compress(in, out);
}

}  // namespace

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

Response make_response(const Request& request, bhttp::status status, std::string body, std::string_view content_type) {
  Response response{status, request.version()};
  response.set(bhttp::field::server, "nodepack");
  response.set(bhttp::field::content_type, content_type);
  response.keep_alive(request.keep_alive());
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

std::string maybe_gzip(const Request& request, Response& response) {
  if (response.body().size() < min_gzip_size || response.count(bhttp::field::content_encoding) != 0) {
    return {};
  }
  const auto accept = request.find(bhttp::field::accept_encoding);
  if (accept == request.end() || !accepts_gzip(accept->value())) {
    return {};
  }
  std::string compressed;
  if (!gzip(response.body(), compressed)) {
    return {};  // leave the body as it was; identity is always acceptable
  }
  std::string identity = std::exchange(response.body(), std::move(compressed));
  response.set(bhttp::field::content_encoding, "gzip");
  const auto vary = response.find(bhttp::field::vary);
  if (vary == response.end()) {
    response.set(bhttp::field::vary, "Accept-Encoding");
  } else if (vary->value().find("Accept-Encoding") == std::string_view::npos) {
    response.set(bhttp::field::vary, std::string(vary->value()) + ", Accept-Encoding");
  }
  response.prepare_payload();
  return identity;
}

std::string_view target_path(const Request& request) {
  const std::string_view target = request.target();
  return target.substr(0, target.find('?'));
}

std::string query_param(const Request& request, std::string_view name) {
  const std::string_view target = request.target();
  const auto question = target.find('?');
  if (question == std::string_view::npos) {
    return {};
  }
  std::string_view query = target.substr(question + 1);
  const auto fragment = query.find('#');
  query = query.substr(0, fragment);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const auto eq = pair.find('=');
    if (url_decode(pair.substr(0, eq)) == name) {
      return eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1));
    }
  }
  return {};
}

}  // namespace nodepack::http
