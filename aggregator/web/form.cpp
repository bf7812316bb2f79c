#include "aggregator/web/form.hpp"
#include "common/strings.hpp"

namespace nodepack::web {
std::map<std::string, std::string> parse_form(std::string_view body) {
  std::map<std::string, std::string> out;
  while (!body.empty()) {
    const auto amp = body.find('&');
    const std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    if (pair.empty()) {
      continue;
    }
    const auto eq = pair.find('=');
    std::string name = url_decode(pair.substr(0, eq));
    std::string value = eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1));
    out.emplace(std::move(name), std::move(value));
  }
  return out;
}

std::optional<std::string> cookie_value(const http::Request& request, std::string_view name) {
  const auto [first, last] = request.equal_range(boost::beast::http::field::cookie);
  for (auto field = first; field != last; ++field) {
    std::string_view header = field->value();
    while (!header.empty()) {
      const auto semi = header.find(';');
      const std::string_view item = trim(header.substr(0, semi));
      header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
      const auto eq = item.find('=');
      if (eq != std::string_view::npos && trim(item.substr(0, eq)) == name) {
        std::string_view value = trim(item.substr(eq + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
          value = value.substr(1, value.size() - 2);
        }
        return std::string(value);
      }
    }
  }
  return std::nullopt;
}

bool is_local_web_target(std::string_view target) {
  if (target != "/web" && target.substr(0, 5) != "/web/" && target.substr(0, 5) != "/web?") {
    return false;
  }
  for (char c : target) {
    // Printable ASCII without backslash: no header splitting, no "\\host" that browsers read as
    // "//host".
    if (c < 0x21 || c > 0x7e || c == '\\') {
      return false;
    }
  }
  return target.find("//") == std::string_view::npos;
}

bool same_origin_or_absent(const http::Request& request) {
  const auto origin = request.find(boost::beast::http::field::origin);
  if (origin == request.end()) {
    return true;
  }
  const auto host = request.find(boost::beast::http::field::host);
  if (host == request.end()) {
    return false;
  }
  std::string_view value = origin->value();
  const auto scheme = value.find("://");
  if (scheme == std::string_view::npos) {
    return false;  // "null" (a sandboxed or file: page) or garbage
  }
  return value.substr(scheme + 3) == host->value();
}

}  // namespace nodepack::web
