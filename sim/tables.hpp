#pragma once

// Server-side printing: the meta.k8s.io/v1 Table kubectl asks for with
// `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`, with the columns `kubectl get` shows
// for pods and nodes (READY, STATUS, RESTARTS, AGE; -o wide adds IP and NODE, or the node's
// addresses and versions) and NAME/AGE for everything else.

#include "sim/store.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace nodepack::sim {

// Whether the Accept header asks for a Table.
bool wants_table(std::string_view accept);

boost::json::object make_table(Kind kind, const std::vector<ObjectPtr>& items, std::uint64_t resource_version,
                               std::chrono::system_clock::time_point now);

// kubectl's age format (k8s.io/apimachinery/pkg/util/duration.HumanDuration): 45s, 5m30s, 3h, 5d.
std::string human_duration(std::chrono::seconds d);

}  // namespace nodepack::sim
