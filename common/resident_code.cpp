#include "common/resident_code.hpp"

#include <elf.h>
#include <link.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>

namespace nodepack {
namespace {

// Resident file-backed pages of this process, from /proc/self/statm's third field (resident file
// and shared-memory pages; the agent maps no shared memory that changes across the call).
std::size_t resident_file_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) {
    return 0;
  }
  unsigned long size = 0, resident = 0, shared = 0;
  const int n = std::fscanf(f, "%lu %lu %lu", &size, &resident, &shared);
  std::fclose(f);
  return n == 3 ? shared * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)) : 0;
}

bool has_text_relocations(const dl_phdr_info& info) {
  for (int i = 0; i < info.dlpi_phnum; ++i) {
    const auto& ph = info.dlpi_phdr[i];
    if (ph.p_type != PT_DYNAMIC) {
      continue;
    }
    for (const auto* d = reinterpret_cast<const ElfW(Dyn)*>(info.dlpi_addr + ph.p_vaddr); d->d_tag != DT_NULL; ++d) {
      if (d->d_tag == DT_TEXTREL || (d->d_tag == DT_FLAGS && (d->d_un.d_val & DF_TEXTREL) != 0)) {
        return true;
      }
    }
  }
  return false;
}

int drop_object(dl_phdr_info* info, std::size_t, void*) {
  // The vDSO is the kernel's own page, not a file.
  if (info->dlpi_addr == ::getauxval(AT_SYSINFO_EHDR) || has_text_relocations(*info)) {
    return 0;
  }
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const auto& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W) != 0) {
      continue;
    }
    // Whole pages inside the segment only: a page shared with a writable neighbour stays.
    const std::uintptr_t begin = (info->dlpi_addr + ph.p_vaddr + page - 1) & ~(page - 1);
    const std::uintptr_t end = (info->dlpi_addr + ph.p_vaddr + ph.p_memsz) & ~(page - 1);
    if (end > begin) {
      ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
    }
  }
  return 0;
}

}  // namespace

std::size_t drop_read_only_segments() {
  const std::size_t before = resident_file_bytes();
  ::dl_iterate_phdr(drop_object, nullptr);
  const std::size_t after = resident_file_bytes();
  return before > after ? before - after : 0;
}

}  // namespace nodepack
