// The Kube-App body and the accounting parameters: defaults, date forms, and every way to get 400.

#include "aggregator/billing/request.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace nodepack::billing;
using nodepack::Result;
using std::chrono::seconds;
using std::chrono::system_clock;

namespace {

constexpr std::int64_t t0 = 1767225600;  // 2026-01-01T00:00:00Z
const system_clock::time_point now = system_clock::time_point(seconds(t0 + 5400));
const seconds max_range(400 * 24 * 3600);

Result<MetricRequest> parse(std::string_view body) { return parse_metric_request(body, now, max_range); }

std::string error_of(std::string_view body) {
  auto r = parse(body);
  REQUIRE_FALSE(r.has_value());
  return r.error().message;
}

Result<AccountingRequest> accounting(std::map<std::string, std::string> params) {
  return parse_accounting_request(
      [&](std::string_view name) {
        auto it = params.find(std::string(name));
        return it == params.end() ? std::string() : it->second;
      },
      now, max_range);
}

}  // namespace

TEST_CASE("dates: the three forms, UTC unless an offset is given") {
  CHECK(parse_api_time("2026-01-01").value() == t0);
  CHECK(parse_api_time("2026-01-01 01:30:00").value() == t0 + 5400);
  CHECK(parse_api_time("2026-01-01T01:30:00Z").value() == t0 + 5400);
  CHECK(parse_api_time("2026-01-01t01:30:00z").value() == t0 + 5400);
  CHECK(parse_api_time("2026-01-01T03:30:00+02:00").value() == t0 + 5400);
  CHECK(parse_api_time("2025-12-31T23:30:00-02:00").value() == t0 + 5400);
  CHECK(parse_api_time("2026-01-01T01:30:00.999Z").value() == t0 + 5400);  // rounded down
  CHECK(parse_api_time("2017-12-31").value() == 1514678400);
  CHECK(format_api_time(t0 + 5400) == "2026-01-01T01:30:00Z");
}

TEST_CASE("dates: anything else is an error naming the accepted forms") {
  for (const char* bad : {"", "2026-1-1", "2026-13-01", "2026-02-30", "2026-01-32", "01/01/2026", "2026-01-01 25:00:00",
                          "2026-01-01T01:30:00", "2026-01-01T01:30:00+0200", "yesterday", "2026-01-01 01:30",
                          "2026-01-01T01:30:00Zjunk", "2026-0a-01"}) {
    INFO(bad);
    auto r = parse_api_time(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().message, Catch::Contains("YYYY-MM-DD"));
  }
}

TEST_CASE("body: an empty body takes every default (namespace default, limit 100, no agg, the last hour)") {
  for (const char* body : {"", "  \n", "{}", R"({"agg": "", "namespace": "", "timeBeginInterval": null})"}) {
    INFO(body);
    auto r = parse(body);
    REQUIRE(r.has_value());
    CHECK(r->ns == "default");
    CHECK(r->limit == 100);
    CHECK(r->agg == Agg::none);
    CHECK(r->begin == t0 + 1800);
    CHECK(r->end == t0 + 5400);
  }
}

TEST_CASE("body: every field") {
  auto r = parse(R"({"namespace": "team-a", "limit": 12, "agg": "all-pod",
                     "timeBeginInterval": "2026-01-01", "timeEndInterval": "2026-01-01 02:00:00", "other": 1})");
  REQUIRE(r.has_value());
  CHECK(r->ns == "team-a");
  CHECK(r->limit == 12);
  CHECK(r->agg == Agg::all_pod);
  CHECK(r->begin == t0);
  CHECK(r->end == t0 + 7200);
  CHECK(parse(R"({"agg": "pod-by-namespace"})")->agg == Agg::pod_by_namespace);
  CHECK(parse(R"({"agg": "all-namespace"})")->agg == Agg::all_namespace);
  CHECK(parse(R"({"agg": "sum"})")->agg == Agg::none);  // anything else: no aggregation
  CHECK(parse(R"({"agg": 3})")->agg == Agg::none);
  CHECK(parse(R"({"limit": "250"})")->limit == 250);  // Kube-App clients send strings too
  CHECK(parse(R"({"limit": 11000})")->limit == 11000);
  CHECK(parse(R"({"limit": 5.0})")->limit == 5);
  // Only the end given: the begin is still an hour before now.
  auto end_only = parse(R"({"timeEndInterval": "2026-01-01T01:00:00Z"})");
  CHECK(end_only->begin == t0 + 1800);
  CHECK(end_only->end == t0 + 3600);
  // Unix seconds as numbers.
  auto numbers = parse(R"({"timeBeginInterval": 1767225600, "timeEndInterval": 1767229200.5})");
  CHECK(numbers->begin == t0);
  CHECK(numbers->end == t0 + 3600);
}

TEST_CASE("body: bad bodies are 400 reasons") {
  CHECK_THAT(error_of("{"), Catch::Contains("not JSON"));
  CHECK_THAT(error_of("[1]"), Catch::Contains("JSON object"));
  CHECK_THAT(error_of("\"x\""), Catch::Contains("JSON object"));
  CHECK_THAT(error_of(R"({"namespace": 7})"), Catch::Contains("namespace must be a string"));
  CHECK_THAT(error_of(R"({"namespace": "Team_A"})"), Catch::Contains("not a Kubernetes namespace name"));
  CHECK_THAT(error_of(R"x({"namespace": "a\"} or vector(1)"})x"), Catch::Contains("not a Kubernetes namespace"));
  for (const char* limit :
       {"0", "-5", "11001", "1.5", "\"ten\"", "\"\"", "true", "[]", "1e30", "18446744073709551615"}) {
    INFO(limit);
    CHECK_THAT(error_of(std::string(R"({"limit": )") + limit + "}"), Catch::Contains("limit must be a whole number"));
  }
  CHECK_THAT(error_of(R"({"timeBeginInterval": "tomorrow"})"), Catch::Contains("timeBeginInterval"));
  CHECK_THAT(error_of(R"({"timeEndInterval": true})"), Catch::Contains("timeEndInterval must be a date"));
  CHECK_THAT(error_of(R"({"timeBeginInterval": -1})"), Catch::Contains("not a Unix time"));
  // Inverted and empty ranges.
  CHECK(error_of(R"({"timeBeginInterval": "2026-01-02", "timeEndInterval": "2026-01-01"})") ==
        "timeEndInterval (2026-01-01T00:00:00Z) is not after timeBeginInterval (2026-01-02T00:00:00Z)");
  CHECK_THAT(error_of(R"({"timeBeginInterval": "2026-01-01", "timeEndInterval": "2026-01-01"})"),
             Catch::Contains("is not after"));
  // 400 days is the most by default; one second more is refused.
  CHECK(parse(R"({"timeBeginInterval": "2025-01-01", "timeEndInterval": "2026-02-05"})").has_value());
  CHECK_THAT(error_of(R"({"timeBeginInterval": "2025-01-01", "timeEndInterval": "2026-02-05 00:00:01"})"),
             Catch::Contains("longer than 9600h0m0s (--api.max-range)"));
}

TEST_CASE("accounting parameters: defaults and errors") {
  auto d = accounting({});
  REQUIRE(d.has_value());
  CHECK(d->to == t0 + 5400);
  CHECK(d->from == t0 + 5400 - 86400);
  CHECK(d->by == AccountingBy::ns);
  CHECK(d->format == AccountingFormat::json);
  CHECK_FALSE(d->ns.has_value());

  auto full = accounting({{"from", "2026-01-01"},
                          {"to", "2026-01-01T02:00:00Z"},
                          {"by", "pod"},
                          {"format", "csv"},
                          {"namespace", "beta"}});
  REQUIRE(full.has_value());
  CHECK(full->from == t0);
  CHECK(full->to == t0 + 7200);
  CHECK(full->by == AccountingBy::pod);
  CHECK(full->format == AccountingFormat::csv);
  CHECK(full->ns == "beta");

  CHECK_THAT(accounting({{"by", "node"}}).error().message, Catch::Contains("by must be namespace or pod"));
  CHECK_THAT(accounting({{"format", "xml"}}).error().message, Catch::Contains("format must be json or csv"));
  CHECK_THAT(accounting({{"namespace", "Bad!"}}).error().message, Catch::Contains("not a Kubernetes namespace"));
  CHECK_THAT(accounting({{"from", "soon"}}).error().message, Catch::StartsWith("from: "));
  CHECK_THAT(accounting({{"to", "2026-01-01"}, {"from", "2026-01-02"}}).error().message, Catch::Contains("not after"));
  CHECK_THAT(accounting({{"to", "2026-01-01"}, {"from", "2020-01-01"}}).error().message,
             Catch::Contains("--api.max-range"));
}
