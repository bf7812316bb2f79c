#pragma once

// Start-up code out of a long-running process's resident set.

#include <cstddef>

namespace nodepack {

// Unmaps the pages of every read-only segment of the program and its shared libraries (code,
// constants, unwind tables), as the kernel's reclaim would under memory pressure: each page is
// mapped again from the page cache on its next use. Returns how many resident bytes of
// file-backed memory that dropped (before minus after).
//
// Why: start-up runs code that never runs again (flag parsing, loading and verifying BPF objects,
// the first lists), and a page fault on a file mapping maps the 64 KiB around the page, so an
// agent settled with 13 MiB of file pages mapped of which its steady work uses 8.
// Called once start-up is over, the resident set becomes what the steady work uses. The pages
// stay in the page cache, so this saves no I/O and costs one minor fault per 64 KiB used again.
//
// Only segments the program cannot have written are touched: writable segments (data, and the
// relocated constants that RELRO protects afterwards) are skipped, and so is any object with text
// relocations; dropping a written private page would lose what was written.
std::size_t drop_read_only_segments();

}  // namespace nodepack
