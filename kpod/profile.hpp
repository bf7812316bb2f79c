#pragma once

#include "common/result.hpp"

#include <string_view>

namespace nodepack::kpod {

// kpod-metrics' profiles; each includes the one before it.
enum class Profile { minimal = 0, standard = 1, comprehensive = 2 };

Result<Profile> parse_profile(std::string_view s);
std::string_view profile_name(Profile p);

}  // namespace nodepack::kpod
