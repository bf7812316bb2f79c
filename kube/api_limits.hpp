#pragma once

// How much of one API server answer the client holds at once. Each bound must sit well below the
// process's memory limit in deploy/ (agent 96 Mi, aggregator 256 Mi), or it protects nothing: a
// hostile or broken server fills the buffer up to the bound before the answer is refused. They are
// still generous: a page of 500 pods is typically a few MiB (about 10 MiB when every pod carries
// managedFields and a last-applied annotation) and one object at most about 1.5 MiB (etcd's
// default request limit).

#include <cstdint>

namespace nodepack::kube {

// One list page's body. The agent lists only its own node's pods (at most a few hundred).
inline constexpr std::uint64_t default_max_list_bytes = 32ULL << 20;
// The aggregator pages through every node and pod of the cluster, 500 at a time.
inline constexpr std::uint64_t aggregator_max_list_bytes = 64ULL << 20;
inline constexpr std::uint64_t default_max_event_bytes = 16ULL << 20;  // one watch event line

}  // namespace nodepack::kube
