#include "kube/server_version.hpp"

#include "kube/json_fields.hpp"

#include <charconv>

namespace nodepack::kube {
namespace {

// The leading decimal digits of `text` ("37+" -> 37), or -1.
int leading_number(std::string_view text) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end != text.data() ? value : -1;
}

}  // namespace

Result<ServerVersion> parse_server_version(const boost::json::value& json) {
  const auto* o = json.if_object();
  if (o == nullptr) {
    return fail("/version: not a JSON object");
  }
  ServerVersion v;
  v.git_version = string_field(*o, "gitVersion");
  int major = leading_number(string_field(*o, "major"));
  int minor = leading_number(string_field(*o, "minor"));
  if ((major < 0 || minor < 0) && v.git_version.starts_with("v")) {
    std::string_view git = std::string_view(v.git_version).substr(1);
    major = leading_number(git);
    const auto dot = git.find('.');
    minor = dot == std::string_view::npos ? -1 : leading_number(git.substr(dot + 1));
  }
  if (major < 0 || minor < 0) {
    return fail("/version: no major and minor version (gitVersion \"" + v.git_version + "\")");
  }
  v.major = major;
  v.minor = minor;
  return v;
}

ResizeSemantics semantics_for(const ServerVersion& version) {
  const bool from_137 = version.major > 1 || (version.major == 1 && version.minor >= 37);
  return from_137 ? ResizeSemantics::max_of_sums : ResizeSemantics::per_container;
}

Result<ResizeSetting> parse_resize_setting(std::string_view text) {
  if (text == "auto") {
    return ResizeSetting::automatic;
  }
  auto fixed = parse_resize_semantics(text);
  if (!fixed) {
    return fail("--resize-semantics must be auto, per-container or max-of-sums, not \"" + std::string(text) + "\"");
  }
  return *fixed == ResizeSemantics::max_of_sums ? ResizeSetting::max_of_sums : ResizeSetting::per_container;
}

std::string_view resize_setting_name(ResizeSetting setting) {
  switch (setting) {
    case ResizeSetting::automatic:
      return "auto";
    case ResizeSetting::max_of_sums:
      return "max-of-sums";
    default:
      return "per-container";
  }
}

}  // namespace nodepack::kube
