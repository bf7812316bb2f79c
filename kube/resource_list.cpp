#include "kube/resource_list.hpp"

#include <boost/json/kind.hpp>

#include <charconv>
#include <string>
#include <system_error>

namespace nodepack::kube {

void add_into(ResourceList& dst, const ResourceList& src) {
  for (const auto& [name, quantity] : src) {
    // try_emplace leaves an existing entry alone, and a new one starts at zero.
    dst.try_emplace(name).first->second += quantity;
  }
}

void max_into(ResourceList& dst, const ResourceList& src) {
  for (const auto& [name, quantity] : src) {
    Quantity& slot = dst.try_emplace(name).first->second;
    slot = quantity_max(slot, quantity);
  }
}

namespace {

// apimachinery reads an unquoted JSON number by parsing its text as a quantity. Boost.JSON has
// already turned it into a number, so rebuild the shortest text that reads back as the same value.
Result<Quantity> quantity_from_number(const boost::json::value& v) {
  char buffer[64];
  std::to_chars_result r{};
  switch (v.kind()) {
    case boost::json::kind::int64:
      r = std::to_chars(buffer, buffer + sizeof buffer, v.get_int64());
      break;
    case boost::json::kind::uint64:
      r = std::to_chars(buffer, buffer + sizeof buffer, v.get_uint64());
      break;
    default:
      r = std::to_chars(buffer, buffer + sizeof buffer, v.get_double());
      break;
  }
  if (r.ec != std::errc()) {
    return fail("number does not fit a quantity");
  }
  return Quantity::parse(std::string_view(buffer, static_cast<std::size_t>(r.ptr - buffer)));
}

}  // namespace

Result<ResourceList> parse_resource_list(const boost::json::value& json) {
  if (json.is_null()) {
    return ResourceList{};
  }
  const boost::json::object* object = json.if_object();
  if (object == nullptr) {
    return fail("expected an object of resource name to quantity");
  }
  ResourceList list;
  for (const auto& entry : *object) {
    const boost::json::value& v = entry.value();
    Result<Quantity> quantity = Quantity();
    if (v.is_string()) {
      const boost::json::string& s = v.get_string();
      quantity = Quantity::parse(std::string_view(s.data(), s.size()));
    } else if (v.is_number()) {
      quantity = quantity_from_number(v);
    } else if (!v.is_null()) {
      quantity = fail("expected a quantity string or number");
    }
    if (!quantity) {
      return fail(std::string(entry.key()) + ": " + quantity.error().message);
    }
    list.insert_or_assign(std::string(entry.key()), *quantity);
  }
  return list;
}

double exporter_value(std::string_view resource, const Quantity& quantity) {
  if (resource == "cpu") {
    return static_cast<double>(quantity.milli_value_ceil()) / 1000.0;
  }
  return static_cast<double>(quantity.value_ceil());
}

std::string format_resource_list(const ResourceList& list) {
  std::string out;
  for (const auto& [name, quantity] : list) {
    if (!out.empty()) {
      out += ", ";
    }
    out += name;
    out += '=';
    out += quantity.to_string();
  }
  return out;
}

}  // namespace nodepack::kube
