// Password hashes (each crypt method, generated and fixed), token digests, the users and tokens
// file formats with their errors, and credential extraction from headers.

#include "aggregator/auth/credential_files.hpp"
#include "aggregator/auth/presented.hpp"
#include "aggregator/auth/secrets.hpp"

#include <catch2/catch.hpp>

#include <crypt.h>

#include <set>

using namespace nodepack::auth;
using namespace std::chrono_literals;
namespace bhttp = boost::beast::http;

namespace {

nodepack::http::Request request_with(std::vector<std::pair<std::string, std::string>> headers) {
  nodepack::http::Request request{bhttp::verb::get, "/api/v1/accounting", 11};
  for (auto& [name, value] : headers) {
    request.insert(name, value);
  }
  return request;
}

// Made once with `mkpasswd -m yescrypt`, `mkpasswd -m bcrypt` and `openssl passwd -6` for the
// password "correct horse", checked in to pin the formats operators paste into the users file.
constexpr const char* fixed_yescrypt = "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$zwtVrjrUCmXcyLTs6oxLTQlzifSUkF8RHJ./tK5KU79";
constexpr const char* fixed_bcrypt = "$2b$05$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2";
constexpr const char* fixed_sha512 =
    "$6$saltsaltsalt$Cy2drr8kDRji6smvDcT28wkqtq0R0VzVL5CkrjPQCITc5d/31j94knt9rGTcVSyjLXfjsiIsBh5ee8qR/3QDx1";

}  // namespace

TEST_CASE("each crypt method verifies the right password and nothing else") {
  for (const char* prefix : {"$y$", "$2b$", "$6$"}) {
    INFO(prefix);
    // crypt_gensalt picks a fresh salt: two hashes of one password differ.
    const auto hash = hash_password("s3cret pass", prefix).value();
    CHECK(hash.starts_with(prefix));
    CHECK(hash != hash_password("s3cret pass", prefix).value());
    CHECK(check_password_hash(hash).has_value());
    CHECK(verify_password("s3cret pass", hash));
    CHECK_FALSE(verify_password("s3cret pas", hash));
    CHECK_FALSE(verify_password("s3cret pass ", hash));
    CHECK_FALSE(verify_password("", hash));
    CHECK_FALSE(verify_password(std::string_view("s3cret pass\0x", 13), hash));
  }
  // The same through libxcrypt directly, as a second opinion on hash_password.
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  REQUIRE(crypt_gensalt_rn("$2y$", 4, nullptr, 0, setting, sizeof setting) != nullptr);
  crypt_data data{};
  const std::string hash = crypt_rn("pw", setting, &data, sizeof data);
  CHECK(check_password_hash(hash).has_value());
  CHECK(verify_password("pw", hash));
  CHECK_FALSE(verify_password("pW", hash));
}

TEST_CASE("fixed hashes made by mkpasswd and openssl passwd verify") {
  for (const char* hash : {fixed_yescrypt, fixed_bcrypt, fixed_sha512}) {
    INFO(hash);
    CHECK(check_password_hash(hash).has_value());
    CHECK(verify_password("correct horse", hash));
    CHECK_FALSE(verify_password("correct horse battery", hash));
  }
}

TEST_CASE("weak, clear-text and truncated hashes are refused with a reason") {
  const auto error_of = [](std::string_view hash) {
    auto checked = check_password_hash(hash);
    REQUIRE_FALSE(checked.has_value());
    return checked.error().message;
  };
  CHECK(error_of("hunter2") ==
        "not a crypt(3) hash (a clear-text password, or legacy DES?); make one with mkpasswd -m yescrypt");
  CHECK(error_of("$1$abcdefgh$Xh9hV0B6nLxkTHP2tJzU1/") ==
        "password hash uses a legacy method (MD5 or SHA-1 crypt); use yescrypt, bcrypt or sha512-crypt");
  CHECK(error_of("$y$j9T$F5Jx5fExrKuPp53xLKQ..1$") ==
        "password hash is incomplete (it should be the whole output of mkpasswd or openssl passwd)");
  CHECK(error_of(std::string(fixed_bcrypt).substr(0, 59)) ==
        "password hash is incomplete (it should be the whole output of mkpasswd or openssl passwd)");
  CHECK(error_of("$x$abc$def") ==
        "password hash \"$x$a...\" is not a yescrypt ($y$), bcrypt ($2b$, $2y$) or sha512-crypt ($6$) string");
  CHECK(error_of("") == "empty password hash");
  CHECK_FALSE(verify_password("anything", "$y$broken"));
}

TEST_CASE("token digests, hex and random session tokens") {
  // printf %s tok-123 | sha256sum
  CHECK(to_hex(sha256("tok-123")) == "c8963414bf6c4c869eeac5f8a057c3dc574d422f1b108397b66f67bab3d2f981");
  const auto parsed = parse_hex_digest("C8963414BF6C4C869EEAC5F8A057C3DC574D422F1B108397B66F67BAB3D2F981");
  REQUIRE(parsed.has_value());
  CHECK(digests_equal(*parsed, sha256("tok-123")));
  CHECK_FALSE(digests_equal(*parsed, sha256("tok-124")));
  CHECK_FALSE(parse_hex_digest("c8963414").has_value());
  CHECK_FALSE(parse_hex_digest(std::string(63, 'a') + "g").has_value());

  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const auto token = random_token();
    CHECK(token.size() == 43);  // 256 bits in base64url without padding
    CHECK(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
          std::string::npos);
    seen.insert(token);
  }
  CHECK(seen.size() == 100);
}

TEST_CASE("the users file: entries, comments, namespaces, and errors by line") {
  const std::string text = std::string("# nodepack users\n\n") + "alice:" + fixed_yescrypt + "\n" +
                           "  bob : " + fixed_bcrypt + " : team-a, team-b ,team-a \r\n" + "carol:" + fixed_sha512 +
                           ":\n";
  auto users = parse_users(text, "users file u").value();
  REQUIRE(users.size() == 3);
  CHECK(users[0].name == "alice");
  CHECK(users[0].hash == fixed_yescrypt);
  CHECK(users[0].namespaces.empty());
  CHECK(users[1].name == "bob");
  CHECK(users[1].namespaces == std::vector<std::string>{"team-a", "team-b"});
  CHECK(users[2].namespaces.empty());

  const auto error_of = [](const std::string& bad) {
    auto parsed = parse_users(bad, "users file u");
    REQUIRE_FALSE(parsed.has_value());
    return parsed.error().message;
  };
  const std::string alice = std::string("alice:") + fixed_sha512 + "\n";
  CHECK(error_of("# one\n" + alice + "alice:" + fixed_bcrypt + "\n") ==
        "users file u line 3: user \"alice\" is listed twice");
  CHECK(error_of("alice\n") == "users file u line 1: expected name:hash or name:hash:namespace,... (1 fields)");
  CHECK(error_of(alice + "bob:" + fixed_bcrypt + ":team-a:extra\n") ==
        "users file u line 2: expected name:hash or name:hash:namespace,... (4 fields)");
  CHECK(error_of("bob:" + std::string(fixed_bcrypt) + ":Team_A\n") ==
        "users file u line 1: user \"bob\": \"Team_A\" is not a namespace name (lower-case letters, digits and '-')");
  CHECK(error_of("bob:hunter2\n") ==
        "users file u line 1: user \"bob\": not a crypt(3) hash (a clear-text password, or legacy DES?); make one "
        "with mkpasswd -m yescrypt");
  CHECK(error_of(":" + std::string(fixed_bcrypt) + "\n") ==
        "users file u line 1: bad user name \"\" (empty, too long, or with spaces or commas)");
  CHECK(parse_users("# nobody yet\n", "users file u").value().empty());
}

TEST_CASE("the tokens file: digests only, with errors by line") {
  const std::string digest = "c8963414bf6c4c869eeac5f8a057c3dc574d422f1b108397b66f67bab3d2f981";
  auto tokens = parse_tokens("# ci\nci:sha256:" + digest + ":team-a\nadmin: sha256 :" + to_hex(sha256("other")) + "\n",
                             "tokens file t")
                    .value();
  REQUIRE(tokens.size() == 2);
  CHECK(tokens[0].name == "ci");
  CHECK(digests_equal(tokens[0].digest, sha256("tok-123")));
  CHECK(tokens[0].namespaces == std::vector<std::string>{"team-a"});
  CHECK(tokens[1].namespaces.empty());

  const auto error_of = [](const std::string& bad) {
    auto parsed = parse_tokens(bad, "tokens file t");
    REQUIRE_FALSE(parsed.has_value());
    return parsed.error().message;
  };
  CHECK(error_of("ci:tok-123\n") ==
        "tokens file t line 1: expected name:sha256:<64 hex digits>[:namespace,...] (2 fields)");
  CHECK(error_of("ci:md5:" + digest + "\n") ==
        "tokens file t line 1: token \"ci\": the second field must be \"sha256\" (tokens are stored as digests)");
  CHECK(error_of("ci:sha256:c8963414\n") ==
        "tokens file t line 1: token \"ci\": the digest must be 64 hex digits (printf %s \"$TOKEN\" | sha256sum)");
  CHECK(error_of("ci:sha256:" + digest + "\n\nci2:sha256:" + digest + "\n") ==
        "tokens file t line 3: token \"ci2\" has the same digest as token \"ci\"");
}

TEST_CASE("credentials are read from headers in order of precedence") {
  // "alice:open sesame" and "alice:pa:ss" in base64
  auto basic = presented_credentials(request_with({{"Authorization", "Basic YWxpY2U6b3BlbiBzZXNhbWU="}}));
  CHECK(basic.kind == Presented::Kind::basic);
  CHECK(basic.user == "alice");
  CHECK(basic.secret == "open sesame");
  auto colon = presented_credentials(request_with({{"Authorization", "basic YWxpY2U6cGE6c3M"}}));
  CHECK(colon.kind == Presented::Kind::basic);
  CHECK(colon.secret == "pa:ss");
  auto bearer = presented_credentials(request_with({{"Authorization", "Bearer tok-123 "}}));
  CHECK(bearer.kind == Presented::Kind::bearer);
  CHECK(bearer.secret == "tok-123");
  auto headers = presented_credentials(request_with({{"X-USERNAME", "bob"}, {"X-PASSWORD", "pw"}}));
  CHECK(headers.kind == Presented::Kind::headers);
  CHECK(headers.user == "bob");
  CHECK(headers.secret == "pw");
  auto cookie = presented_credentials(
      request_with({{"Cookie", "theme=dark; nodepack_session=abc-DEF_1"}, {"Cookie", "other=1"}}));
  CHECK(cookie.kind == Presented::Kind::session);
  CHECK(cookie.secret == "abc-DEF_1");
  // Explicit credentials win over the cookie a browser keeps sending.
  auto both =
      presented_credentials(request_with({{"Cookie", "nodepack_session=abc"}, {"Authorization", "Bearer tok-123"}}));
  CHECK(both.kind == Presented::Kind::bearer);
  CHECK(presented_credentials(request_with({{"Cookie", "nodepack_sessionx=abc"}})).kind == Presented::Kind::none);
  CHECK(presented_credentials(request_with({})).kind == Presented::Kind::none);

  const auto problem = [](std::vector<std::pair<std::string, std::string>> h) {
    auto p = presented_credentials(request_with(std::move(h)));
    CHECK(p.kind == Presented::Kind::malformed);
    return p.problem;
  };
  CHECK(problem({{"Authorization", "Basic !!!"}}) == "Authorization: Basic is not valid base64");
  CHECK(problem({{"Authorization", "Basic YWxpY2U="}}) == "Authorization: Basic must hold user:password");
  CHECK(problem({{"Authorization", "Digest username=x"}}) == "unsupported Authorization scheme; use Basic or Bearer");
  CHECK(problem({{"Authorization", "Bearer "}}) == "unsupported Authorization scheme; use Basic or Bearer");
  CHECK(problem({{"X-USERNAME", "bob"}}) == "X-USERNAME and X-PASSWORD must be sent together");
}
