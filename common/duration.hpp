#pragma once

// Go's time.ParseDuration syntax ("30m", "1h30m", "1.5s", "500ms"), which KBE's flags use, and
// Go's String() form ("30m0s") that KBE's /sync reports.

#include "common/result.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace nodepack {

Result<std::chrono::nanoseconds> parse_go_duration(std::string_view text);
std::string format_go_duration(std::chrono::nanoseconds d);

}  // namespace nodepack
