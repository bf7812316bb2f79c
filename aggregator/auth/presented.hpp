#pragma once

// What credentials a request carries, read from its headers without judging them: an
// `Authorization: Bearer` token, `Authorization: Basic` user and password, the seed's
// `X-USERNAME`/`X-PASSWORD` headers, or the `nodepack_session` cookie, in that order of precedence
// (explicit credentials win over a cookie the browser may still be sending).

#include "http/server.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace nodepack::auth {

inline constexpr std::string_view session_cookie_name = "nodepack_session";

struct Presented {
  enum class Kind { none, bearer, basic, headers, session, malformed };
  Kind kind = Kind::none;
  std::string user;     // basic, headers
  std::string secret;   // the password, the bearer token or the session token
  std::string problem;  // malformed: what is wrong, for the reply
};

Presented presented_credentials(const http::Request& request);

// The value of cookie `name` among all Cookie headers, if present.
std::optional<std::string> cookie_value(const http::Request& request, std::string_view name);
// Standard base64 with optional padding; nothing else accepted.
std::optional<std::string> base64_decode_strict(std::string_view text);

std::string_view kind_name(Presented::Kind kind);

}  // namespace nodepack::auth
