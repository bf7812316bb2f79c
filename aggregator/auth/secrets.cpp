#include "aggregator/auth/secrets.hpp"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <memory>
#include <stdexcept>

namespace nodepack::auth {

namespace {

constexpr std::size_t max_password_bytes = 1024;  // sha512-crypt's work grows with the length

struct Method {
  std::string_view prefix;
  std::string_view name;
};
constexpr Method accepted_methods[] = {
    {"$y$", "yescrypt"}, {"$gy$", "gost-yescrypt"}, {"$7$", "scrypt"},       {"$2b$", "bcrypt"},
    {"$2y$", "bcrypt"},  {"$2a$", "bcrypt"},        {"$6$", "sha512-crypt"}, {"$5$", "sha256-crypt"},
};

}  // namespace

Result<void> check_password_hash(std::string_view hash) {
  const std::string text(hash);
  if (text.empty()) {
    return fail("empty password hash");
  }
  if (text.size() > CRYPT_OUTPUT_SIZE) {
    return fail("password hash too long to be a crypt(3) string");
  }
  bool known = false;
  for (const auto& method : accepted_methods) {
    known = known || hash.starts_with(method.prefix);
  }
  if (!known) {
    if (hash.front() != '$') {
      return fail("not a crypt(3) hash (a clear-text password, or legacy DES?); make one with mkpasswd -m yescrypt");
    }
    if (hash.starts_with("$1$") || hash.starts_with("$md5") || hash.starts_with("$sha1$")) {
      return fail("password hash uses a legacy method (MD5 or SHA-1 crypt); use yescrypt, bcrypt or sha512-crypt");
    }
    return fail("password hash \"" + text.substr(0, 4) +
                "...\" is not a yescrypt ($y$), bcrypt ($2b$, $2y$) or sha512-crypt ($6$) string");
  }
  switch (crypt_checksalt(text.c_str())) {
    case CRYPT_SALT_OK:
      break;
    case CRYPT_SALT_METHOD_LEGACY:
      return fail("password hash uses a legacy method; use yescrypt, bcrypt or sha512-crypt");
    default:
      return fail("password hash is not a valid crypt(3) string (bad settings or salt)");
  }
  // The whole string must be what crypt(3) produces: settings, salt and the checksum. A setting
  // alone (no checksum) would make every password fail, locking the user out without a word.
  // Checked by shape, not by running crypt(3), so that loading many bcrypt users stays fast.
  const bool bcrypt = hash.starts_with("$2");
  const auto last = hash.substr(hash.rfind('$') + 1);
  if ((bcrypt && hash.size() != 60) || (!bcrypt && last.size() < 43)) {
    return fail("password hash is incomplete (it should be the whole output of mkpasswd or openssl passwd)");
  }
  return {};
}

bool verify_password(std::string_view password, const std::string& hash) {
  if (password.size() > max_password_bytes || password.find('\0') != std::string_view::npos) {
    return false;
  }
  const std::string phrase(password);
  auto data = std::make_unique<crypt_data>();
  const char* computed = crypt_rn(phrase.c_str(), hash.c_str(), data.get(), sizeof *data);
  // The length follows from the method, not from the password, so comparing it leaks nothing.
  const bool ok = computed != nullptr && std::string_view(computed).size() == hash.size() &&
                  CRYPTO_memcmp(computed, hash.data(), hash.size()) == 0;
  OPENSSL_cleanse(data.get(), sizeof *data);
  return ok;
}

Result<std::string> hash_password(std::string_view password, const char* prefix, unsigned long cost) {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn(prefix, cost, nullptr, 0, setting, sizeof setting) == nullptr) {
    return fail(std::string("cannot make a salt for method ") + prefix);
  }
  const std::string phrase(password);
  auto data = std::make_unique<crypt_data>();
  const char* hashed = crypt_rn(phrase.c_str(), setting, data.get(), sizeof *data);
  if (hashed == nullptr) {
    return fail(std::string("crypt(3) failed for method ") + prefix);
  }
  return std::string(hashed);
}

Digest sha256(std::string_view data) {
  Digest out{};
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &size, EVP_sha256(), nullptr) != 1 || size != out.size()) {
    throw std::runtime_error("SHA-256 failed");  // only when OpenSSL itself is broken
  }
  return out;
}

Digest hmac_sha256(const Digest& key, std::string_view data) {
  Digest out{};
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
           data.size(), out.data(), &size) == nullptr ||
      size != out.size()) {
    throw std::runtime_error("HMAC-SHA-256 failed");
  }
  return out;
}

bool digests_equal(const Digest& a, const Digest& b) { return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0; }

std::optional<Digest> parse_hex_digest(std::string_view hex) {
  if (hex.size() != 64) {
    return std::nullopt;
  }
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Digest out{};
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = nibble(hex[2 * i]);
    const int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    out[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return out;
}

std::string to_hex(const Digest& digest) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const unsigned char b : digest) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

std::string random_token() {
  Digest bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    throw std::runtime_error("OpenSSL RAND_bytes failed");  // no entropy: nothing safe to hand out
  }
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (const unsigned char b : bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(alphabet[(buffer >> bits) & 63]);
    }
  }
  if (bits > 0) {
    out.push_back(alphabet[(buffer << (6 - bits)) & 63]);
  }
  return out;
}

}  // namespace nodepack::auth
