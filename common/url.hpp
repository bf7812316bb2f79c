#pragma once

// Percent-encoding (RFC 3986) for query values and paths, and its inverse.

#include <string>
#include <string_view>

namespace nodepack {

// Everything but the unreserved characters (A-Z a-z 0-9 - _ . ~) as %XX: safe in a query value.
std::string url_encode(std::string_view s);
// The same, keeping '/' as is: safe in a path or a path-valued parameter (a redirect target).
std::string url_encode_path(std::string_view s);
// %XX and '+' (a space, as forms send it) decoded; malformed escapes kept as they are.
std::string url_decode(std::string_view s);

}  // namespace nodepack
