#pragma once

// The bits of HTTP the web pages parse themselves: form bodies, cookies, and where to go after
// logging in.

#include "common/url.hpp"
#include "http/server.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace nodepack::web {

// An application/x-www-form-urlencoded body ("user=a%20b&password=x"); the first of repeated
// names wins. Malformed escapes are kept as they are.
std::map<std::string, std::string> parse_form(std::string_view body);
// The value of one cookie from the request's Cookie headers, if present.
std::optional<std::string> cookie_value(const http::Request& request, std::string_view name);
// Whether `target` is a safe place to send the browser after login: a path under /web on this
// server (never another origin, a protocol-relative "//host" or a backslash trick).
bool is_local_web_target(std::string_view target);
// False when the request carries an Origin header naming another origin than its Host: a form
// posted from another site (login CSRF).
bool same_origin_or_absent(const http::Request& request);

}  // namespace nodepack::web
