#include "aggregator/web/form.hpp"

#include <catch2/catch.hpp>

using namespace nodepack;
namespace bhttp = boost::beast::http;

TEST_CASE("form bodies are URL-decoded, the first of repeated names wins") {
  auto form = web::parse_form("user=a%20b+c&password=%3D%26%25&flag&user=second&&bad=%zz%4");
  CHECK(form["user"] == "a b c");
  CHECK(form["password"] == "=&%");
  CHECK(form.count("flag") == 1);
  CHECK(form["flag"].empty());
  CHECK(form["bad"] == "%zz%4");
  CHECK(web::parse_form("").empty());
}

TEST_CASE("the session cookie is found among several Cookie headers") {
  http::Request request{bhttp::verb::get, "/web", 11};
  request.insert(bhttp::field::cookie, "theme=dark; other=1");
  request.insert(bhttp::field::cookie, "a=b;nodepack_session=tok-1 ; z=2");
  CHECK(web::cookie_value(request, "nodepack_session") == "tok-1");
  CHECK(web::cookie_value(request, "theme") == "dark");
  CHECK_FALSE(web::cookie_value(request, "session").has_value());
  http::Request quoted{bhttp::verb::get, "/web", 11};
  quoted.set(bhttp::field::cookie, "nodepack_session=\"tok-2\"");
  CHECK(web::cookie_value(quoted, "nodepack_session") == "tok-2");
}

TEST_CASE("only paths under /web on this server are followed after login") {
  CHECK(web::is_local_web_target("/web"));
  CHECK(web::is_local_web_target("/web/stats/cpu/usage_rate/team-a?range=6h"));
  CHECK(web::is_local_web_target("/web?x=1"));
  CHECK_FALSE(web::is_local_web_target(""));
  CHECK_FALSE(web::is_local_web_target("/webx"));
  CHECK_FALSE(web::is_local_web_target("//evil.example/web/"));
  CHECK_FALSE(web::is_local_web_target("https://evil.example/web"));
  CHECK_FALSE(web::is_local_web_target("/web//evil.example"));
  CHECK_FALSE(web::is_local_web_target("/web/\\evil.example"));
  CHECK_FALSE(web::is_local_web_target("/web/\r\nSet-Cookie: x=y"));
  CHECK_FALSE(web::is_local_web_target("/api/v1/accounting"));
}

TEST_CASE("a form posted from another origin is told apart from one posted here") {
  http::Request request{bhttp::verb::post, "/web/login", 11};
  request.set(bhttp::field::host, "127.0.0.1:9101");
  CHECK(web::same_origin_or_absent(request));
  request.set(bhttp::field::origin, "http://127.0.0.1:9101");
  CHECK(web::same_origin_or_absent(request));
  request.set(bhttp::field::origin, "https://127.0.0.1:9101");
  CHECK(web::same_origin_or_absent(request));
  request.set(bhttp::field::origin, "http://evil.example");
  CHECK_FALSE(web::same_origin_or_absent(request));
  request.set(bhttp::field::origin, "null");
  CHECK_FALSE(web::same_origin_or_absent(request));
}
