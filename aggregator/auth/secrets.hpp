#pragma once

// The cryptographic primitives authentication needs, in one place: crypt(3) password hashes
// (libxcrypt), SHA-256 digests of bearer and session tokens, constant-time comparison, random
// session tokens.

#include "common/result.hpp"

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace nodepack::auth {

using Digest = std::array<unsigned char, 32>;

// Whether a users file may hold `hash`: a crypt(3) string of a method that is salted and slow
// enough. Accepted: yescrypt ($y$, $gy$), scrypt ($7$), bcrypt ($2b$, $2y$, $2a$), sha512-crypt
// ($6$) and sha256-crypt ($5$). The error says why not ("legacy DES", "not a crypt string").
Result<void> check_password_hash(std::string_view hash);

// crypt(3) of `password` with the settings and salt of `hash`, compared in constant time.
// False for anything unusable (a NUL in the password, a password over 1024 bytes, a bad hash).
bool verify_password(std::string_view password, const std::string& hash);

// A new hash of `password`: `prefix` picks the method ("$y$", "$2b$", "$6$"), `cost` its work
// factor (0: libxcrypt's default). For tests and the dummy hash unknown users are checked against.
Result<std::string> hash_password(std::string_view password, const char* prefix = "$y$", unsigned long cost = 0);

Digest sha256(std::string_view data);
// HMAC-SHA-256, for keys of in-memory caches that must not be a plain digest of a password.
Digest hmac_sha256(const Digest& key, std::string_view data);
bool digests_equal(const Digest& a, const Digest& b);  // constant time
// 64 hex digits, either case; nothing else.
std::optional<Digest> parse_hex_digest(std::string_view hex);
std::string to_hex(const Digest& digest);

// 256 random bits from OpenSSL's CSPRNG as 43 characters of unpadded base64url.
std::string random_token();

}  // namespace nodepack::auth
