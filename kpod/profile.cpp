#include "kpod/profile.hpp"

#include <string>

namespace nodepack::kpod {

Result<Profile> parse_profile(std::string_view s) {
  for (auto p : {Profile::minimal, Profile::standard, Profile::comprehensive}) {
    if (s == profile_name(p)) {
      return p;
    }
  }
  return fail("unknown profile \"" + std::string(s) + "\" (minimal|standard|comprehensive)");
}

std::string_view profile_name(Profile p) {
  switch (p) {
    case Profile::minimal:
      return "minimal";
    case Profile::standard:
      return "standard";
    case Profile::comprehensive:
      return "comprehensive";
  }
  return "?";
}

}  // namespace nodepack::kpod
