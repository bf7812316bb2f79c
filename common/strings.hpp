#pragma once

// The few string helpers every module needs.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nodepack {

// Without leading and trailing spaces, tabs, CR and LF.
std::string_view trim(std::string_view s);

// The whole of `s` as a decimal unsigned integer; nullopt for anything else ("max", "", "1x").
std::optional<std::uint64_t> parse_u64(std::string_view s);

// "a, b, c" with `separator` between the items.
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");

}  // namespace nodepack
