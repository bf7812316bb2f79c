#include "common/heap_policy.hpp"

#include <malloc.h>

namespace nodepack {

void fix_mmap_threshold(std::size_t bytes) {
  // Setting it at all turns glibc's dynamic adjustment off.
  ::mallopt(M_MMAP_THRESHOLD, static_cast<int>(bytes));
}

}  // namespace nodepack
