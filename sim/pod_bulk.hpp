#pragma once

// What makes a real pod object heavy and the generated ones light: managedFields (one entry per
// field manager, mirroring the fields it set), kubectl's last-applied-configuration annotation
// (the whole applied manifest again, as a string) and long env lists. The agent keeps none of it,
// but reads all of it with every list and watch event; benchmarks pad pods so they measure that.

#include <boost/json/object.hpp>

#include <cstddef>
#include <random>

namespace nodepack::sim {

// Pads `pod` with env entries, managedFields and a last-applied annotation until its JSON is
// about `bytes` long (within an env entry's size). Nothing when it is that long already or bytes
// is 0. What the agent counts (requests, phase, node, owners) is left as it was.
void add_pod_bulk(boost::json::object& pod, std::size_t bytes, std::mt19937_64& random);

}  // namespace nodepack::sim
