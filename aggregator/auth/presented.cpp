#include "aggregator/auth/presented.hpp"
#include "common/strings.hpp"

#include <cctype>

namespace nodepack::auth {

namespace bhttp = boost::beast::http;

namespace {

// "Basic xyz" -> "xyz" when the scheme matches, case-insensitively (RFC 9110).
std::optional<std::string_view> after_scheme(std::string_view header, std::string_view scheme) {
  if (header.size() <= scheme.size() || header[scheme.size()] != ' ') {
    return std::nullopt;
  }
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != std::tolower(static_cast<unsigned char>(scheme[i]))) {
      return std::nullopt;
    }
  }
  return trim(header.substr(scheme.size() + 1));
}

Presented malformed(std::string problem) {
  Presented p;
  p.kind = Presented::Kind::malformed;
  p.problem = std::move(problem);
  return p;
}

}  // namespace

std::optional<std::string> base64_decode_strict(std::string_view text) {
  while (!text.empty() && text.back() == '=') {
    text.remove_suffix(1);
  }
  if (text.size() % 4 == 1) {
    return std::nullopt;
  }
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (const char c : text) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+') {
      v = 62;
    } else if (c == '/') {
      v = 63;
    }
    if (v < 0) {
      return std::nullopt;
    }
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

std::optional<std::string> cookie_value(const http::Request& request, std::string_view name) {
  for (auto it = request.find(bhttp::field::cookie); it != request.end() && it->name() == bhttp::field::cookie; ++it) {
    std::string_view rest = it->value();
    while (!rest.empty()) {
      const auto semi = rest.find(';');
      const auto pair = trim(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      const auto eq = pair.find('=');
      if (eq != std::string_view::npos && trim(pair.substr(0, eq)) == name) {
        auto value = trim(pair.substr(eq + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
          value = value.substr(1, value.size() - 2);
        }
        return std::string(value);
      }
    }
  }
  return std::nullopt;
}

Presented presented_credentials(const http::Request& request) {
  if (const auto auth = request.find(bhttp::field::authorization); auth != request.end()) {
    const std::string_view header = trim(auth->value());
    if (const auto token = after_scheme(header, "Bearer")) {
      if (token->empty()) {
        return malformed("empty bearer token");
      }
      Presented p;
      p.kind = Presented::Kind::bearer;
      p.secret = std::string(*token);
      return p;
    }
    if (const auto encoded = after_scheme(header, "Basic")) {
      const auto decoded = base64_decode_strict(*encoded);
      if (!decoded) {
        return malformed("Authorization: Basic is not valid base64");
      }
      const auto colon = decoded->find(':');
      if (colon == std::string::npos) {
        return malformed("Authorization: Basic must hold user:password");
      }
      Presented p;
      p.kind = Presented::Kind::basic;
      p.user = decoded->substr(0, colon);
      p.secret = decoded->substr(colon + 1);
      return p;
    }
    return malformed("unsupported Authorization scheme; use Basic or Bearer");
  }
  const auto user = request.find("X-USERNAME");
  const auto password = request.find("X-PASSWORD");
  if (user != request.end() || password != request.end()) {
    if (user == request.end() || password == request.end()) {
      return malformed("X-USERNAME and X-PASSWORD must be sent together");
    }
    Presented p;
    p.kind = Presented::Kind::headers;
    p.user = std::string(user->value());
    p.secret = std::string(password->value());
    return p;
  }
  if (auto session = cookie_value(request, session_cookie_name)) {
    Presented p;
    p.kind = Presented::Kind::session;
    p.secret = std::move(*session);
    return p;
  }
  return {};
}

std::string_view kind_name(Presented::Kind kind) {
  switch (kind) {
    case Presented::Kind::none:
      return "none";
    case Presented::Kind::bearer:
      return "bearer token";
    case Presented::Kind::basic:
      return "Basic credentials";
    case Presented::Kind::headers:
      return "X-USERNAME/X-PASSWORD";
    case Presented::Kind::session:
      return "session cookie";
    case Presented::Kind::malformed:
      return "malformed credentials";
  }
  return "?";
}

}  // namespace nodepack::auth
