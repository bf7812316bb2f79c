#pragma once

// How long-running modes ask glibc's malloc to hold memory.

#include <cstddef>

namespace nodepack {

// Allocations of at least `bytes` get their own mapping, returned to the node when freed.
//
// glibc starts at 128 KiB but raises the threshold to the size of each mapped block freed (up to
// 32 MiB), so after the first scrape's 230 KB of text, or a list's 1 MiB piece, such buffers come
// from the heap: the heap then keeps their high-water mark resident between scrapes, a MiB of an
// agent's 16 MiB with real-sized pods. A fixed threshold costs a mapping and its page faults per
// large buffer (tens of microseconds a scrape).
void fix_mmap_threshold(std::size_t bytes = 128 * 1024);

}  // namespace nodepack
