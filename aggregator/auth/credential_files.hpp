#pragma once

// The users file and the tokens file (formats in aggregator/auth/README.md). Both are plain text,
// one entry a line, `#` comments, so that a Kubernetes Secret mounted as a file works unchanged.
// Parse errors name the file and the line; nothing is half-loaded.

#include "aggregator/auth/secrets.hpp"
#include "common/result.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace nodepack::auth {

// `name:hash[:ns1,ns2]`
struct UserEntry {
  std::string name;
  std::string hash;                     // crypt(3)
  std::vector<std::string> namespaces;  // empty: every namespace
};

// `name:sha256:<hex of sha256(token)>[:ns1,ns2]`
struct TokenEntry {
  std::string name;
  Digest digest;
  std::vector<std::string> namespaces;
};

// `source` names the text in errors ("users file /etc/nodepack/users").
Result<std::vector<UserEntry>> parse_users(std::string_view text, const std::string& source);
Result<std::vector<TokenEntry>> parse_tokens(std::string_view text, const std::string& source);

Result<std::vector<UserEntry>> load_users_file(const std::filesystem::path& path);
Result<std::vector<TokenEntry>> load_tokens_file(const std::filesystem::path& path);

// A Kubernetes namespace name (DNS-1123 label).
bool valid_namespace(std::string_view name);

}  // namespace nodepack::auth
