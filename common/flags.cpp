#include "common/flags.hpp"

#include "common/duration.hpp"

#include <charconv>
#include <optional>

namespace nodepack {

void FlagSet::add(std::string name, std::string help, std::string default_text,
                  std::function<Result<void>(std::string_view)> set) {
  flags_.push_back(Flag{std::move(name), std::move(help), std::move(default_text), false, std::move(set)});
}

void FlagSet::add_string(std::string name, std::string help, std::string& target) {
  add(std::move(name), std::move(help), target, [&target](std::string_view v) -> Result<void> {
    target = std::string(v);
    return {};
  });
}

void FlagSet::add_bool(std::string name, std::string help, bool& target) {
  add(std::move(name), std::move(help), target ? "true" : "false", [&target](std::string_view v) -> Result<void> {
    if (v == "true" || v == "1") {
      target = true;
    } else if (v == "false" || v == "0") {
      target = false;
    } else {
      return fail("want true or false, got \"" + std::string(v) + "\"");
    }
    return {};
  });
  flags_.back().is_bool = true;
}

void FlagSet::add_int(std::string name, std::string help, std::int64_t& target) {
  add(std::move(name), std::move(help), std::to_string(target), [&target](std::string_view v) -> Result<void> {
    std::int64_t parsed = 0;
    const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), parsed);
    if (ec != std::errc() || ptr != v.data() + v.size() || parsed < 0) {
      return fail("want a non-negative integer, got \"" + std::string(v) + "\"");
    }
    target = parsed;
    return {};
  });
}

void FlagSet::add_list(std::string name, std::string help, std::vector<std::string>& target) {
  add(std::move(name), std::move(help), "", [&target](std::string_view v) -> Result<void> {
    target.emplace_back(v);
    return {};
  });
}

const FlagSet::Flag* FlagSet::find(std::string_view name) const {
  for (const auto& f : flags_) {
    if (f.name == name) {
      return &f;
    }
  }
  return nullptr;
}

Result<void> FlagSet::parse(const std::vector<std::string>& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "-h" || arg == "--help" || arg == "-help") {
      help_requested_ = true;
      continue;
    }
    if (!arg.starts_with("-") || arg == "-" || arg == "--") {
      return fail("unexpected argument \"" + std::string(arg) + "\"");
    }
    arg.remove_prefix(arg.starts_with("--") ? 2 : 1);
    std::string_view name = arg;
    std::optional<std::string_view> value;
    if (auto eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    const Flag* flag = find(name);
    if (flag == nullptr) {
      return fail("unknown flag --" + std::string(name));
    }
    if (!value) {
      if (flag->is_bool) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return fail("flag --" + std::string(name) + " needs a value");
      }
    }
    if (auto ok = flag->set(*value); !ok) {
      return fail("invalid value for --" + std::string(name) + ": " + ok.error().message);
    }
  }
  return {};
}

std::string FlagSet::usage() const {
  std::string out = "Usage: " + program_ + " [flags]\n\nFlags:\n";
  for (const auto& f : flags_) {
    out += "  --" + f.name + (f.is_bool ? "" : " value") + "\n      " + f.help;
    if (!f.default_text.empty()) {
      out += " (default \"" + f.default_text + "\")";
    }
    out += "\n";
  }
  return out;
}

bool valid_resource_name(std::string_view name) {
  if (name.empty() || name.size() > 253) {
    return false;
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '.' || c == '_' || c == '/';
    if (!ok) {
      return false;
    }
  }
  return true;
}

Result<std::vector<std::string>> parse_resources_flag(std::string_view text) {
  auto resources = split_list(text);
  if (resources.empty()) {
    return fail("--resources must name at least one resource");
  }
  for (const auto& r : resources) {
    if (!valid_resource_name(r)) {
      return fail("--resources: \"" + r + "\" is not a resource name");
    }
  }
  return resources;
}

std::function<Result<void>(std::string_view)> duration_setter(std::chrono::nanoseconds& target, bool allow_zero) {
  return [&target, allow_zero](std::string_view v) -> Result<void> {
    auto d = parse_go_duration(v);
    if (!d) {
      return d.error();
    }
    if (d->count() < 0 || (!allow_zero && d->count() == 0)) {
      return fail(allow_zero ? "must not be negative" : "must be positive");
    }
    target = *d;
    return {};
  };
}

std::vector<std::string> split_list(std::string_view text, char separator) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find(separator, start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    auto item = text.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') {
      item.remove_prefix(1);
    }
    while (!item.empty() && item.back() == ' ') {
      item.remove_suffix(1);
    }
    if (!item.empty()) {
      out.emplace_back(item);
    }
    start = end + 1;
  }
  return out;
}

}  // namespace nodepack
