// The API server's /version and the in-place resize rule it implies: providers' "37+" minors,
// gitVersion as a fallback, the 1.37 boundary, and --resize-semantics values.

#include "kube/resize_tracker.hpp"
#include "kube/server_version.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using namespace nodepack;
using namespace nodepack::kube;

namespace {

Result<ServerVersion> parse(const char* text) { return parse_server_version(boost::json::parse(text)); }

}  // namespace

TEST_CASE("/version: major and minor, provider suffixes, gitVersion fallback", "[server_version]") {
  auto plain = parse(R"({"major":"1","minor":"36","gitVersion":"v1.36.2"})");
  REQUIRE(plain.has_value());
  CHECK(plain->major == 1);
  CHECK(plain->minor == 36);
  CHECK(plain->git_version == "v1.36.2");
  auto gke = parse(R"({"major":"1","minor":"37+","gitVersion":"v1.37.1-gke.1200"})");
  REQUIRE(gke.has_value());
  CHECK(gke->minor == 37);
  auto git_only = parse(R"({"major":"","minor":"","gitVersion":"v1.38.0-alpha.2"})");
  REQUIRE(git_only.has_value());
  CHECK(git_only->major == 1);
  CHECK(git_only->minor == 38);
  CHECK_FALSE(parse(R"({"gitVersion":"devel"})").has_value());
  CHECK_FALSE(parse(R"([1,37])").has_value());
}

TEST_CASE("the scheduler's rule by release: max-of-sums from 1.37", "[server_version]") {
  CHECK(semantics_for({1, 36, "v1.36.9"}) == ResizeSemantics::per_container);
  CHECK(semantics_for({1, 37, "v1.37.0"}) == ResizeSemantics::max_of_sums);
  CHECK(semantics_for({1, 40, "v1.40.0"}) == ResizeSemantics::max_of_sums);
  CHECK(semantics_for({2, 0, "v2.0.0"}) == ResizeSemantics::max_of_sums);
  CHECK(semantics_for({1, 28, "v1.28.0"}) == ResizeSemantics::per_container);
}

TEST_CASE("--resize-semantics: auto or a fixed rule", "[server_version]") {
  CHECK(parse_resize_setting("auto").value() == ResizeSetting::automatic);
  CHECK(parse_resize_setting("per-container").value() == ResizeSetting::per_container);
  CHECK(parse_resize_setting("max-of-sums").value() == ResizeSetting::max_of_sums);
  CHECK_FALSE(parse_resize_setting("newest").has_value());
  CHECK(resize_setting_name(ResizeSetting::automatic) == "auto");
}

TEST_CASE("the tracker follows /version answers with auto and ignores them when fixed", "[server_version]") {
  std::vector<ResizeSemantics> changes;
  ResizeTracker tracker(ResizeSetting::automatic, [&](ResizeSemantics s) { changes.push_back(s); });
  CHECK(tracker.semantics() == ResizeSemantics::per_container);
  CHECK(tracker.json().at("decided_by").as_string().find("not known yet") != std::string::npos);
  const auto t = std::chrono::system_clock::time_point{} + std::chrono::hours(1);

  tracker.observe(ServerVersion{1, 36, "v1.36.4"}, t);
  CHECK(tracker.semantics() == ResizeSemantics::per_container);
  CHECK(changes.empty());  // per-container already
  CHECK(tracker.json().at("server_version").as_string() == "v1.36.4");

  tracker.observe(ServerVersion{1, 37, "v1.37.0"}, t);
  CHECK(tracker.semantics() == ResizeSemantics::max_of_sums);
  CHECK(changes == std::vector<ResizeSemantics>{ResizeSemantics::max_of_sums});
  CHECK(tracker.describe() == "max-of-sums (auto: API server v1.37.0 (1.37 >= 1.37))");

  // A failed check keeps the rule the last answer gave and says why.
  tracker.observe(fail("GET /version: status 503"), t);
  CHECK(tracker.semantics() == ResizeSemantics::max_of_sums);
  CHECK(tracker.json().at("last_error").as_string() == "GET /version: status 503");
  CHECK(tracker.json().at("checks").as_uint64() == 3);

  ResizeTracker fixed(ResizeSetting::per_container, [&](ResizeSemantics s) { changes.push_back(s); });
  fixed.observe(ServerVersion{1, 37, "v1.37.0"}, t);
  CHECK(fixed.semantics() == ResizeSemantics::per_container);
  CHECK(fixed.json().at("decided_by").as_string() == "--resize-semantics=per-container");
  CHECK(changes.size() == 1);
}
