#include "aggregator/auth/credential_files.hpp"
#include "common/strings.hpp"

#include <fstream>
#include <set>
#include <sstream>

namespace nodepack::auth {

namespace {

constexpr std::size_t max_file_bytes = 16 << 20;
constexpr std::size_t max_name_bytes = 256;

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto at = text.find(separator);
    out.push_back(text.substr(0, at));
    if (at == std::string_view::npos) {
      return out;
    }
    text.remove_prefix(at + 1);
  }
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > max_name_bytes) {
    return false;
  }
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= ' ' || u == 0x7f || c == ':' || c == ',') {
      return false;
    }
  }
  return true;
}

// The optional namespace list; "" means every namespace.
Result<std::vector<std::string>> parse_namespaces(std::string_view field) {
  std::vector<std::string> out;
  if (trim(field).empty()) {
    return out;
  }
  std::set<std::string_view> seen;
  for (const auto item : split(field, ',')) {
    const auto ns = trim(item);
    if (!valid_namespace(ns)) {
      return fail("\"" + std::string(ns) + "\" is not a namespace name (lower-case letters, digits and '-')");
    }
    if (seen.insert(ns).second) {
      out.emplace_back(ns);
    }
  }
  return out;
}

// Calls `entry(fields, line_number)` for every line that is not blank or a comment; an error from
// it becomes "<source> line N: <error>".
template <class Entry>
Result<void> for_each_line(std::string_view text, const std::string& source, Entry entry) {
  std::size_t number = 0;
  while (!text.empty()) {
    const auto newline = text.find('\n');
    const auto line = trim(text.substr(0, newline));
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    ++number;
    if (line.empty() || line.front() == '#') {
      continue;
    }
    if (auto done = entry(split(line, ':')); !done) {
      return fail(source + " line " + std::to_string(number) + ": " + done.error().message);
    }
  }
  return {};
}

Result<std::string> read_file(const std::filesystem::path& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail(what + " " + path.string() + ": cannot read the file");
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > max_file_bytes) {
    return fail(what + " " + path.string() + ": larger than 16 MiB");
  }
  return text.str();
}

}  // namespace

bool valid_namespace(std::string_view name) {
  if (name.empty() || name.size() > 63 || name.front() == '-' || name.back() == '-') {
    return false;
  }
  for (const char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return false;
    }
  }
  return true;
}

Result<std::vector<UserEntry>> parse_users(std::string_view text, const std::string& source) {
  std::vector<UserEntry> users;
  std::set<std::string> names;
  auto parsed = for_each_line(text, source, [&](const std::vector<std::string_view>& fields) -> Result<void> {
    if (fields.size() < 2 || fields.size() > 3) {
      return fail("expected name:hash or name:hash:namespace,... (" + std::to_string(fields.size()) + " fields)");
    }
    const auto name = trim(fields[0]);
    if (!valid_name(name)) {
      return fail("bad user name \"" + std::string(name) + "\" (empty, too long, or with spaces or commas)");
    }
    if (!names.insert(std::string(name)).second) {
      return fail("user \"" + std::string(name) + "\" is listed twice");
    }
    UserEntry user{std::string(name), std::string(trim(fields[1])), {}};
    if (auto ok = check_password_hash(user.hash); !ok) {
      return fail("user \"" + user.name + "\": " + ok.error().message);
    }
    if (fields.size() == 3) {
      auto namespaces = parse_namespaces(fields[2]);
      if (!namespaces) {
        return fail("user \"" + user.name + "\": " + namespaces.error().message);
      }
      user.namespaces = std::move(*namespaces);
    }
    users.push_back(std::move(user));
    return {};
  });
  if (!parsed) {
    return parsed.error();
  }
  return users;
}

Result<std::vector<TokenEntry>> parse_tokens(std::string_view text, const std::string& source) {
  std::vector<TokenEntry> tokens;
  auto parsed = for_each_line(text, source, [&](const std::vector<std::string_view>& fields) -> Result<void> {
    if (fields.size() < 3 || fields.size() > 4) {
      return fail("expected name:sha256:<64 hex digits>[:namespace,...] (" + std::to_string(fields.size()) +
                  " fields)");
    }
    const auto name = trim(fields[0]);
    if (!valid_name(name)) {
      return fail("bad token name \"" + std::string(name) + "\" (empty, too long, or with spaces or commas)");
    }
    if (trim(fields[1]) != "sha256") {
      return fail("token \"" + std::string(name) +
                  "\": the second field must be \"sha256\" (tokens are stored as digests)");
    }
    const auto digest = parse_hex_digest(trim(fields[2]));
    if (!digest) {
      return fail("token \"" + std::string(name) +
                  "\": the digest must be 64 hex digits (printf %s \"$TOKEN\" | sha256sum)");
    }
    for (const auto& other : tokens) {
      if (digests_equal(other.digest, *digest)) {
        return fail("token \"" + std::string(name) + "\" has the same digest as token \"" + other.name + "\"");
      }
    }
    TokenEntry token{std::string(name), *digest, {}};
    if (fields.size() == 4) {
      auto namespaces = parse_namespaces(fields[3]);
      if (!namespaces) {
        return fail("token \"" + token.name + "\": " + namespaces.error().message);
      }
      token.namespaces = std::move(*namespaces);
    }
    tokens.push_back(std::move(token));
    return {};
  });
  if (!parsed) {
    return parsed.error();
  }
  return tokens;
}

Result<std::vector<UserEntry>> load_users_file(const std::filesystem::path& path) {
  auto text = read_file(path, "users file");
  if (!text) {
    return text.error();
  }
  return parse_users(*text, "users file " + path.string());
}

Result<std::vector<TokenEntry>> load_tokens_file(const std::filesystem::path& path) {
  auto text = read_file(path, "tokens file");
  if (!text) {
    return text.error();
  }
  return parse_tokens(*text, "tokens file " + path.string());
}

}  // namespace nodepack::auth
