#include "kube/quantity.hpp"
#include "kube/resource_list.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include <string>

using nodepack::kube::Int128;
using nodepack::kube::Quantity;

namespace {

constexpr Int128 kNano = 1;
constexpr Int128 kMicro = 1'000;
constexpr Int128 kMilli = 1'000'000;
constexpr Int128 kUnit = 1'000'000'000;

Int128 nanos_of(const std::string& text) {
  auto q = Quantity::parse(text);
  INFO("input: " << text);
  REQUIRE(q.has_value());
  return q->nanos();
}

Quantity q(const std::string& text) { return Quantity::parse(text).value(); }

// Catch2 cannot print __int128; compare through the decimal text so failures are readable.
std::string str(Int128 v) { return nodepack::kube::int128_to_string(v); }

}  // namespace

TEST_CASE("decimal SI suffixes parse to exact nano counts", "[quantity]") {
  CHECK(str(nanos_of("1n")) == str(1 * kNano));
  CHECK(str(nanos_of("1u")) == str(1 * kMicro));
  CHECK(str(nanos_of("100m")) == str(100 * kMilli));
  CHECK(str(nanos_of("1500u")) == str(1'500 * kMicro));
  CHECK(str(nanos_of("1")) == str(kUnit));
  CHECK(str(nanos_of("2k")) == str(2'000 * kUnit));
  CHECK(str(nanos_of("3M")) == str(3'000'000 * kUnit));
  CHECK(str(nanos_of("1.5G")) == str(1'500'000'000 * kUnit));
  CHECK(str(nanos_of("2T")) == str(Int128{2'000'000'000'000} * kUnit));
  CHECK(str(nanos_of("1P")) == str(Int128{1'000'000'000'000'000} * kUnit));
  CHECK(str(nanos_of("1E")) == str(Int128{1'000'000'000'000'000'000} * kUnit));
}

TEST_CASE("binary suffixes parse to exact nano counts", "[quantity]") {
  CHECK(str(nanos_of("1Ki")) == str(1'024 * kUnit));
  CHECK(str(nanos_of("64Mi")) == str(64 * 1'048'576 * kUnit));
  CHECK(str(nanos_of("0.5Gi")) == str(536'870'912 * kUnit));
  CHECK(str(nanos_of("1.5Gi")) == str(1'610'612'736 * kUnit));
  CHECK(str(nanos_of("1Ti")) == str(Int128{1'099'511'627'776} * kUnit));
  CHECK(str(nanos_of("1Pi")) == str(Int128{1'125'899'906'842'624} * kUnit));
  CHECK(str(nanos_of("1Ei")) == str(Int128{1'152'921'504'606'846'976} * kUnit));
  // 0.3Ki = 307.2 units: binary suffixes keep fractional units exact too.
  CHECK(str(nanos_of("0.3Ki")) == str(307'200'000'000));
}

TEST_CASE("exponent forms parse like apimachinery", "[quantity]") {
  CHECK(str(nanos_of("129e6")) == str(129'000'000 * kUnit));
  CHECK(str(nanos_of("1E3")) == str(1'000 * kUnit));
  CHECK(str(nanos_of("1e+3")) == str(1'000 * kUnit));
  CHECK(str(nanos_of("1e-3")) == str(kMilli));
  CHECK(str(nanos_of("1.5e2")) == str(150 * kUnit));
  CHECK(str(nanos_of("12E-1")) == str(1'200 * kMilli));
  // 1e-1000000000000 is far below 1n but non-zero, so it rounds up to 1n.
  CHECK(str(nanos_of("1e-1000000000000")) == str(1));
  CHECK(nanos_of("0e999999999") == 0);
}

TEST_CASE("signs, bare fractions and leading zeros", "[quantity]") {
  CHECK(str(nanos_of("+1")) == str(kUnit));
  CHECK(str(nanos_of("-1")) == str(-kUnit));
  CHECK(str(nanos_of(".5")) == str(500 * kMilli));
  CHECK(str(nanos_of("5.")) == str(5 * kUnit));
  CHECK(str(nanos_of("1.G")) == str(1'000'000'000 * kUnit));
  CHECK(str(nanos_of("007")) == str(7 * kUnit));
  CHECK(str(nanos_of("1.500")) == str(1'500 * kMilli));
  CHECK(nanos_of("0") == 0);
  CHECK(nanos_of("000") == 0);
  CHECK(nanos_of("-0") == 0);
  CHECK(nanos_of("0.000m") == 0);
}

TEST_CASE("fractions finer than a nano round away from zero", "[quantity]") {
  CHECK(str(nanos_of("1.1n")) == str(2));
  CHECK(str(nanos_of("0.0001m")) == str(100));   // 1e-7 units, exactly 100n
  CHECK(str(nanos_of("0.0000001m")) == str(1));  // 0.1n
  CHECK(str(nanos_of("0.0000000001")) == str(1));
  CHECK(str(nanos_of("333.3333333333m")) == str(333'333'334));
  // apimachinery rounds the magnitude, then restores the sign: -1.1n is -2n, not -1n.
  CHECK(str(nanos_of("-1.1n")) == str(-2));
}

TEST_CASE("many significant digits take the exact long path", "[quantity]") {
  // 1.2345678901234567891 units = 1234567890.1234567891n -> 1234567891n
  CHECK(str(nanos_of("1.2345678901234567891")) == str(1'234'567'891));
  // 1.00000000000000000001Ki = 1024 units + 1.024e-17 units -> 1024000000000n + 1n
  CHECK(str(nanos_of("1.00000000000000000001Ki")) == str(1'024'000'000'001));
  CHECK(nanos_of("12345678901234567890123n") == Int128{12'345'678'901'234} * 1'000'000'000 + 567'890'123);
  // Trailing zeros move into the exponent, so this stays exact and in range: 1e21 * 1e-3 = 1e18.
  CHECK(str(nanos_of("1000000000000000000000m")) == str(Int128{1'000'000'000'000'000'000} * kUnit));
}

TEST_CASE("the largest accepted magnitude is 2^63-1 units", "[quantity]") {
  CHECK(q("9223372036854775807").value_ceil() == 9'223'372'036'854'775'807);
  CHECK(q("-9223372036854775807").value_ceil() == -9'223'372'036'854'775'807);
  CHECK_FALSE(Quantity::parse("9223372036854775808").has_value());
  CHECK_FALSE(Quantity::parse("8Ei").has_value());  // 2^63
  CHECK(Quantity::parse("7Ei").has_value());
}

TEST_CASE("milli and unit values round up toward +inf", "[quantity]") {
  CHECK(q("100m").milli_value_ceil() == 100);
  CHECK(q("100m").value_ceil() == 1);
  CHECK(q("1500u").milli_value_ceil() == 2);  // 1.5m
  CHECK(q("1500u").value_ceil() == 1);
  CHECK(q("1.5").value_ceil() == 2);
  CHECK(q("2").value_ceil() == 2);
  CHECK(q("1n").milli_value_ceil() == 1);
  CHECK(q("-1500u").milli_value_ceil() == -1);
  CHECK(q("-1").milli_value_ceil() == -1'000);
  CHECK(q("1Gi").value_ceil() == 1'073'741'824);
  CHECK(q("0").milli_value_ceil() == 0);
  // Beyond int64 millicores the value saturates instead of wrapping.
  CHECK(q("9223372036854775807").milli_value_ceil() == 9'223'372'036'854'775'807);
}

TEST_CASE("constructors, double view and zero", "[quantity]") {
  CHECK(Quantity::from_milli(250) == q("250m"));
  CHECK(Quantity::from_units(3) == q("3"));
  CHECK(Quantity::from_nanos(5) == q("5n"));
  CHECK(Quantity::from_milli(-1) == q("-1m"));
  CHECK(q("150m").as_double() == Approx(0.15));
  CHECK(q("1Gi").as_double() == 1073741824.0);
  CHECK(Quantity().is_zero());
  CHECK(q("0Gi").is_zero());
  CHECK_FALSE(q("1n").is_zero());
}

TEST_CASE("comparisons are exact across suffixes", "[quantity]") {
  CHECK(q("1000m") == q("1"));
  CHECK(q("1k") == q("1e3"));
  CHECK(q("1Ki") > q("1k"));
  CHECK(q("1Gi") > q("1G"));
  CHECK(q("999999999n") < q("1"));
  CHECK(q("-1") < q("0"));
  CHECK((q("1Mi") <=> q("1048576")) == std::strong_ordering::equal);
  CHECK(nodepack::kube::quantity_max(q("1"), q("999m")) == q("1"));
  CHECK(nodepack::kube::quantity_max(q("-5"), q("-6")) == q("-5"));
}

TEST_CASE("sums are exact where doubles drift", "[quantity]") {
  Quantity sum;
  double drift = 0;
  for (int i = 0; i < 10; ++i) {
    sum += q("0.1");
    drift += 0.1;
  }
  CHECK(sum == q("1"));
  CHECK(drift != 1.0);  // why exact arithmetic matters
  Quantity thirds = q("333.3m") + q("333.3m") + q("333.3m");
  CHECK(thirds == q("999.9m"));
  CHECK(thirds.milli_value_ceil() == 1'000);
  CHECK(q("1") - q("1n") == q("999999999n"));
  Quantity d = q("2");
  d -= q("500m");
  CHECK(d == q("1.5"));
  CHECK(-q("1") == q("-1"));
}

TEST_CASE("to_string is canonical and round-trips", "[quantity]") {
  CHECK(q("100m").to_string() == "100m");
  CHECK(q("0.1").to_string() == "100m");
  CHECK(q("1Gi").to_string() == "1073741824");
  CHECK(q("1500u").to_string() == "1500u");
  CHECK(q("1.1n").to_string() == "2n");
  CHECK(q("-1").to_string() == "-1");
  CHECK(q("-250m").to_string() == "-250m");
  CHECK(Quantity().to_string() == "0");
  CHECK(q("9223372036854775807").to_string() == "9223372036854775807");
  for (const char* text : {"100m", "0.5Gi", "1.5G", "129e6", "1500u", "2k", "1e-3", "1.1n", "1Ei", "-7.25",
                           "12345678901234567890123n", "9223372036854775806999m"}) {
    INFO(text);
    Quantity original = q(text);
    CHECK(q(original.to_string()) == original);
  }
}

TEST_CASE("malformed input is rejected with a message naming it", "[quantity]") {
  const char* bad_inputs[] = {
      "",     "1.2.3", "1Ki5", "abc",   " 1",  "1 ",    "1e",   "--1",  "1kk", "0x10",
      "1K",   "1ki",   "-",    "+",     ".",   "1e3.5", "1Gib", "1e+",  "1E-", "9223372036854775808",
      "1e30", "8Ei",   "1 Gi", "1_000", "Inf", "NaN",   "1mi",  "1.5.", "e3",  "1e99999999999",
  };
  for (const char* text : bad_inputs) {
    INFO("input: \"" << text << "\"");
    auto parsed = Quantity::parse(text);
    REQUIRE_FALSE(parsed.has_value());
    CHECK_THAT(parsed.error().message, Catch::Contains(std::string("\"") + text + "\""));
  }
  CHECK_THAT(Quantity::parse("1kk").error().message, Catch::Contains("unknown suffix"));
  CHECK_THAT(Quantity::parse("1e30").error().message, Catch::Contains("exceeds"));
  CHECK_THAT(Quantity::parse("").error().message, Catch::Contains("empty"));
}

TEST_CASE("resource lists add, max and export", "[quantity][resource_list]") {
  using nodepack::kube::ResourceList;
  ResourceList a{{"cpu", q("100m")}, {"memory", q("1Gi")}};
  ResourceList b{{"cpu", q("250m")}, {"nvidia.com/gpu", q("1")}};
  ResourceList sum = a;
  nodepack::kube::add_into(sum, b);
  CHECK(sum.at("cpu") == q("350m"));
  CHECK(sum.at("memory") == q("1Gi"));
  CHECK(sum.at("nvidia.com/gpu") == q("1"));

  ResourceList peak = a;
  nodepack::kube::max_into(peak, ResourceList{{"cpu", q("50m")}, {"memory", q("2Gi")}, {"pods", q("-1")}});
  CHECK(peak.at("cpu") == q("100m"));
  CHECK(peak.at("memory") == q("2Gi"));
  CHECK(peak.at("pods") == q("0"));  // a missing key counts as zero

  CHECK(nodepack::kube::exporter_value("cpu", q("150m")) == Approx(0.15));
  CHECK(nodepack::kube::exporter_value("cpu", q("1.0001m")) == Approx(0.002));
  CHECK(nodepack::kube::exporter_value("memory", q("1.5")) == 2.0);
  CHECK(nodepack::kube::exporter_value("memory", q("1Gi")) == 1073741824.0);
  CHECK(nodepack::kube::format_resource_list(sum) == "cpu=350m, memory=1073741824, nvidia.com/gpu=1");
}

TEST_CASE("resource lists parse strings, numbers and null", "[quantity][resource_list]") {
  auto json = boost::json::parse(R"({"cpu": "1500m", "memory": 1073741824, "pods": 110, "ratio": 0.5,
                                     "big": 1e3, "none": null})");
  auto list = nodepack::kube::parse_resource_list(json);
  REQUIRE(list.has_value());
  CHECK(list->at("cpu") == q("1.5"));
  CHECK(list->at("memory") == q("1Gi"));
  CHECK(list->at("pods") == q("110"));
  CHECK(list->at("ratio") == q("500m"));
  CHECK(list->at("big") == q("1k"));
  CHECK(list->at("none").is_zero());

  auto bad = nodepack::kube::parse_resource_list(boost::json::parse(R"({"cpu": "1 core"})"));
  REQUIRE_FALSE(bad.has_value());
  CHECK_THAT(bad.error().message, Catch::Contains("cpu") && Catch::Contains("\"1 core\""));
  CHECK_FALSE(nodepack::kube::parse_resource_list(boost::json::parse(R"({"cpu": true})")).has_value());
  CHECK_FALSE(nodepack::kube::parse_resource_list(boost::json::parse(R"(["cpu"])")).has_value());
  CHECK(nodepack::kube::parse_resource_list(boost::json::parse("null"))->empty());
}
