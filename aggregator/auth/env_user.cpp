#include "aggregator/auth/env_user.hpp"

#include "aggregator/auth/secrets.hpp"

#include <openssl/crypto.h>

#include <cstdlib>

namespace nodepack::auth {

Result<std::optional<UserEntry>> user_from_variables(const char* username, std::string password) {
  struct Wipe {
    std::string& s;
    ~Wipe() { OPENSSL_cleanse(s.data(), s.size()); }
  } wipe{password};
  const bool has_user = username != nullptr && *username != '\0';
  if (!has_user && password.empty()) {
    return std::optional<UserEntry>{};
  }
  if (!has_user) {
    return fail("API_PASSWORD is set but API_USERNAME is not: set both (Kube-App's one user) or neither");
  }
  if (password.empty()) {
    return fail("API_USERNAME is set but API_PASSWORD is empty: set both (Kube-App's one user) or neither");
  }
  auto hash = hash_password(password, "$y$");
  if (!hash) {
    return hash.error();
  }
  // As a users-file line, so that the name follows the same rules.
  auto entries = parse_users(std::string(username) + ":" + *hash, "API_USERNAME");
  if (!entries) {
    return entries.error();
  }
  return std::optional<UserEntry>(std::move(entries->front()));
}

Result<std::optional<UserEntry>> user_from_environment() {
  const char* password = std::getenv("API_PASSWORD");
  std::string clear = password != nullptr ? password : "";
  if (password != nullptr) {
    OPENSSL_cleanse(const_cast<char*>(password), std::char_traits<char>::length(password));
    ::unsetenv("API_PASSWORD");
  }
  return user_from_variables(std::getenv("API_USERNAME"), std::move(clear));
}

}  // namespace nodepack::auth
