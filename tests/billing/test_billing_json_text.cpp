// API reply numbers: shortest round-trip decimals, never Boost.JSON's "E" style.

#include "aggregator/billing/json_text.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <limits>

using nodepack::billing::to_json_text;

TEST_CASE("json text: doubles in plain decimal, everything else as Boost.JSON writes it") {
  boost::json::object o;
  o["a"] = 99.44751381215472;
  o["b"] = 0.5;
  o["c"] = 1e21;
  o["d"] = std::int64_t{3600};
  o["e"] = "quote\" and \\ and \n";
  o["f"] = boost::json::array{1.25, nullptr, true, -0.001};
  o["g"] = std::numeric_limits<double>::quiet_NaN();
  o["h"] = boost::json::object{};
  o["k\"ey"] = 2.0;
  CHECK(to_json_text(o) == R"({"a":99.44751381215472,"b":0.5,"c":1e+21,"d":3600,"e":"quote\" and \\ and \n",)"
                           R"("f":[1.25,null,true,-0.001],"g":null,"h":{},"k\"ey":2})");
  // Reads back to the same values (NaN aside, which JSON cannot carry).
  auto back = boost::json::parse(to_json_text(o)).as_object();
  CHECK(back["a"].as_double() == 99.44751381215472);
  CHECK(back["c"].as_double() == 1e21);
  CHECK(back["k\"ey"].to_number<double>() == 2.0);
}
