#include "aggregator/billing/json_text.hpp"

#include <boost/json/serialize.hpp>

#include <array>
#include <charconv>
#include <cmath>

namespace nodepack::billing {
namespace {

void append_double(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  std::array<char, 32> buf{};
  const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), d);
  if (ec != std::errc{}) {
    out += "null";  // 32 bytes hold every double's shortest form; kept for safety
    return;
  }
  out.append(buf.data(), end);
}

void append(std::string& out, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::double_:
      append_double(out, v.get_double());
      return;
    case boost::json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& member : v.get_object()) {
        if (!first) {
          out += ',';
        }
        first = false;
        out += boost::json::serialize(boost::json::string_view(member.key()));
        out += ':';
        append(out, member.value());
      }
      out += '}';
      return;
    }
    case boost::json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& element : v.get_array()) {
        if (!first) {
          out += ',';
        }
        first = false;
        append(out, element);
      }
      out += ']';
      return;
    }
    default:
      out += boost::json::serialize(v);  // strings (escaped), integers, booleans, null
      return;
  }
}

}  // namespace

std::string to_json_text(const boost::json::value& value) {
  std::string out;
  append(out, value);
  return out;
}

}  // namespace nodepack::billing
