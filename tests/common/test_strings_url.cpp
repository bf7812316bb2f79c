#include "common/strings.hpp"
#include "common/url.hpp"

#include <catch2/catch.hpp>

using namespace nodepack;

TEST_CASE("url_encode_path keeps path characters and escapes the rest") {
  CHECK(url_encode_path("/web/stats/cpu/usage_rate?range=6h&x=a b") ==
        "/web/stats/cpu/usage_rate%3Frange%3D6h%26x%3Da%20b");
  CHECK(url_decode(url_encode_path("?&=#\"<>")) == "?&=#\"<>");
}

TEST_CASE("url_encode escapes everything but the unreserved characters, slashes included") {
  CHECK(url_encode("spec.nodeName=node-1,status.phase!=Failed") == "spec.nodeName%3Dnode-1%2Cstatus.phase%21%3DFailed");
  CHECK(url_encode("a/b c~d_e.f") == "a%2Fb%20c~d_e.f");
  CHECK(url_decode(url_encode("ünï cödé/%+")) == "ünï cödé/%+");
  CHECK(url_decode("a+b%2") == "a b%2");  // a form's space; a cut escape kept as it is
}

TEST_CASE("trim drops surrounding blanks and line ends only") {
  CHECK(trim("  a b\t\r\n") == "a b");
  CHECK(trim("\n\n").empty());
  CHECK(trim("x") == "x");
  CHECK(trim("").empty());
}

TEST_CASE("join puts the separator between items, empty items included") {
  CHECK(join({"cpu", "memory"}, ",") == "cpu,memory");
  CHECK(join({"", "b"}, ", ") == ", b");
  CHECK(join({}, ",").empty());
  CHECK(join({"one"}) == "one");
}
