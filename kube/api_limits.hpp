#pragma once

// How much of one API server answer the client holds at once. Generous: a page of 500 pods is
// typically a few MiB and one object at most about 1.5 MiB (etcd's default request limit). They
// only stop an answer from growing the process without end.

#include <cstdint>

namespace nodepack::kube {

inline constexpr std::uint64_t default_max_list_bytes = 256ULL << 20;  // one list page's body
inline constexpr std::uint64_t default_max_event_bytes = 16ULL << 20;  // one watch event line

}  // namespace nodepack::kube
