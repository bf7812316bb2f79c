#pragma once

// The agent's node report (agent/node_report.hpp documents the JSON), read strictly: the
// aggregator sums these numbers into cluster totals, so a report with a wrong type anywhere is
// rejected whole rather than half-used.

#include "aggregator/topology_block.hpp"
#include "kube/resource_list.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace nodepack::aggregator {

// Why a pull produced no usable report. The first four are transport problems; the rest say the
// agent answered with something that is not a good report ("invalid" in /sync and metrics).
enum class PullError {
  connect,      // could not connect (refused, unreachable, resolve failure)
  timeout,      // --pull-timeout passed
  transport,    // the connection broke mid-request
  http_status,  // an answer other than 200
  not_synced,   // a well-formed report from an agent whose watches have not synced yet
  oversized,    // larger than --max-report-bytes
  malformed,    // not JSON
  schema,       // JSON of the wrong shape or types
  wrong_node,   // a report about another node than the one the agent runs on
};
inline constexpr std::size_t pull_error_count = 9;
std::string_view pull_error_name(PullError error);
// Whether the agent answered with a bad document (as opposed to not answering usefully).
constexpr bool is_invalid_report(PullError error) {
  return error == PullError::oversized || error == PullError::malformed || error == PullError::schema ||
         error == PullError::wrong_node;
}

struct PullFailure {
  PullError reason = PullError::transport;
  std::string message;
};

template <class T>
using PullResult = boost::system::result<T, PullFailure>;

struct NodeReport {
  std::string node;
  kube::ResourceList allocatable;
  kube::ResourceList allocated;            // includes "pods" (the pod count)
  kube::ResourceList daemonset_allocated;  // includes "pods" (the DaemonSet pod count)
  std::int64_t pod_count = 0;
  std::int64_t daemonset_pod_count = 0;
  std::uint64_t generation = 0;
  std::chrono::system_clock::time_point built_at;
  bool synced = true;
  // The connection topology (aggregator/topology_block.hpp); null when the agent sent none (an
  // older agent, or its topology collector is off) or sent a bad one: a bad block costs only
  // itself, the rest of the report is used, and `topology_error` says what was wrong.
  std::shared_ptr<const NodeTopology> topology;
  std::string topology_error;
};

// Parses and validates one report body. `expected_node` (may be empty) is the node the agent was
// discovered on; a report naming another node is rejected.
PullResult<NodeReport> parse_report(std::string_view body, std::string_view expected_node);

// boost::system::result finds this by argument-dependent lookup to throw from .value() on a
// failure; only tests and start-up code call that.
[[noreturn]] void throw_exception_from_error(const PullFailure& failure, const boost::source_location& location);

}  // namespace nodepack::aggregator
