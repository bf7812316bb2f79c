#include "aggregator/report.hpp"

#include "common/rfc3339.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <stdexcept>

namespace nodepack::aggregator {
namespace {

namespace json = boost::json;

PullFailure schema_error(std::string message) { return PullFailure{PullError::schema, std::move(message)}; }

// A required or optional resource list: an object of quantities.
PullResult<kube::ResourceList> resource_list(const json::object& report, std::string_view key, bool required) {
  const auto* value = report.if_contains(key);
  if (value == nullptr) {
    if (required) {
      return schema_error("missing \"" + std::string(key) + "\"");
    }
    return kube::ResourceList{};
  }
  if (!value->is_object()) {
    return schema_error("\"" + std::string(key) + "\" is not an object");
  }
  // Quantities must be strings here: the agent writes them so, and a number would already have
  // lost exactness on the way through a double.
  for (const auto& [name, quantity] : value->get_object()) {
    if (!quantity.is_string()) {
      return schema_error("\"" + std::string(key) + "." + std::string(name) + "\" is not a quantity string");
    }
  }
  auto parsed = kube::parse_resource_list(*value);
  if (!parsed) {
    return schema_error("\"" + std::string(key) + "\": " + parsed.error().message);
  }
  return std::move(*parsed);
}

PullResult<std::int64_t> count_field(const json::object& report, std::string_view key, bool required) {
  const auto* value = report.if_contains(key);
  if (value == nullptr) {
    if (required) {
      return schema_error("missing \"" + std::string(key) + "\"");
    }
    return std::int64_t{0};
  }
  if (value->is_int64() && value->get_int64() >= 0) {
    return value->get_int64();
  }
  if (value->is_uint64() && value->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(value->get_uint64());
  }
  return schema_error("\"" + std::string(key) + "\" is not a non-negative integer");
}

}  // namespace

std::string_view pull_error_name(PullError error) {
  switch (error) {
    case PullError::connect:
      return "connect";
    case PullError::timeout:
      return "timeout";
    case PullError::transport:
      return "transport";
    case PullError::http_status:
      return "http_status";
    case PullError::not_synced:
      return "not_synced";
    case PullError::oversized:
      return "oversized";
    case PullError::malformed:
      return "malformed";
    case PullError::schema:
      return "schema";
    case PullError::wrong_node:
      return "wrong_node";
  }
  return "unknown";
}

void throw_exception_from_error(const PullFailure& failure, const boost::source_location&) {
  throw std::runtime_error(std::string(pull_error_name(failure.reason)) + ": " + failure.message);
}

PullResult<NodeReport> parse_report(std::string_view body, std::string_view expected_node) {
  boost::system::error_code ec;
  const json::value parsed = json::parse(body, ec);
  if (ec) {
    return PullFailure{PullError::malformed, "not JSON: " + ec.message()};
  }
  const auto* object = parsed.if_object();
  if (object == nullptr) {
    return schema_error("not a JSON object");
  }
  if (const auto* version = object->if_contains("schema_version"); version != nullptr) {
    if (!version->is_int64() || version->get_int64() != 1) {
      return schema_error("unsupported schema_version " + json::serialize(*version));
    }
  }
  NodeReport report;
  const auto* node = object->if_contains("node");
  if (node == nullptr || !node->is_string() || node->get_string().empty()) {
    return schema_error("\"node\" is missing or not a non-empty string");
  }
  report.node = std::string(node->get_string());
  // The node's labels as the agent saw them: checked, not kept. The Node object from the API
  // server is the authority for labels (label groups read it), and a copy per report is 30 MB at
  // 65,000 nodes.
  if (const auto* labels = object->if_contains("labels"); labels != nullptr && !labels->is_null()) {
    if (!labels->is_object()) {
      return schema_error("\"labels\" is not an object");
    }
    for (const auto& [k, v] : labels->get_object()) {
      if (!v.is_string()) {
        return schema_error("label \"" + std::string(k) + "\" is not a string");
      }
    }
  }
  auto allocatable = resource_list(*object, "allocatable", false);
  if (!allocatable) {
    return allocatable.error();
  }
  report.allocatable = std::move(*allocatable);
  auto allocated = resource_list(*object, "allocated", true);
  if (!allocated) {
    return allocated.error();
  }
  report.allocated = std::move(*allocated);
  auto ds_allocated = resource_list(*object, "daemonset_allocated", false);
  if (!ds_allocated) {
    return ds_allocated.error();
  }
  report.daemonset_allocated = std::move(*ds_allocated);
  auto pods = count_field(*object, "pod_count", true);
  if (!pods) {
    return pods.error();
  }
  report.pod_count = *pods;
  auto ds_pods = count_field(*object, "daemonset_pod_count", false);
  if (!ds_pods) {
    return ds_pods.error();
  }
  report.daemonset_pod_count = *ds_pods;
  // The pod counts are the "pods" resource; older or hand-written reports may leave it out.
  report.allocated.try_emplace("pods", kube::Quantity::from_units(report.pod_count));
  report.daemonset_allocated.try_emplace("pods", kube::Quantity::from_units(report.daemonset_pod_count));
  auto generation = count_field(*object, "generation", false);
  if (!generation) {
    return generation.error();
  }
  report.generation = static_cast<std::uint64_t>(*generation);
  const auto* built_at = object->if_contains("built_at");
  if (built_at == nullptr || !built_at->is_string()) {
    return schema_error("\"built_at\" is missing or not a string");
  }
  // parse_rfc3339 reads the offset with std::stoi, which throws on non-digits: only hand it text
  // made of the characters RFC 3339 uses.
  const std::string_view when_text = built_at->get_string();
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  const bool bad_offset = when_text.size() >= 6 &&
                          (when_text[when_text.size() - 6] == '+' || when_text[when_text.size() - 6] == '-') &&
                          !(digit(when_text[when_text.size() - 5]) && digit(when_text[when_text.size() - 4]) &&
                            digit(when_text[when_text.size() - 2]) && digit(when_text[when_text.size() - 1]));
  if (bad_offset || when_text.find_first_not_of("0123456789TtZz:.+-") != std::string_view::npos) {
    return schema_error("\"built_at\" is not an RFC 3339 time: " + std::string(when_text));
  }
  const auto when = parse_rfc3339(when_text);
  if (!when) {
    return schema_error("\"built_at\" is not an RFC 3339 time: " + std::string(built_at->get_string()));
  }
  report.built_at = *when;
  if (const auto* synced = object->if_contains("synced"); synced != nullptr) {
    if (!synced->is_bool()) {
      return schema_error("\"synced\" is not a boolean");
    }
    report.synced = synced->get_bool();
  }
  if (const auto* topology = object->if_contains("topology"); topology != nullptr && !topology->is_null()) {
    if (auto parsed_topology = parse_topology(*topology)) {
      report.topology = std::make_shared<const NodeTopology>(std::move(*parsed_topology));
    } else {
      report.topology_error = std::move(parsed_topology.error().message);
    }
  }
  if (!expected_node.empty() && report.node != expected_node) {
    return PullFailure{PullError::wrong_node,
                       "report is about node " + report.node + ", agent runs on " + std::string(expected_node)};
  }
  if (!report.synced) {
    return PullFailure{PullError::not_synced, "agent has not synced its watches yet"};
  }
  return report;
}

}  // namespace nodepack::aggregator
