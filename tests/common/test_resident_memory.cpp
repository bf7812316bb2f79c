// common/heap_policy and common/resident_code act on this test process itself: they change what
// the kernel and glibc keep resident, so they are checked by reading that back (mallinfo2,
// /proc/self/statm), and by running code and reading constants after their pages were dropped.

#include "common/duration.hpp"
#include "common/heap_policy.hpp"
#include "common/resident_code.hpp"

#include <malloc.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>

namespace {

// Through a volatile pointer so the compiler cannot pair and elide the calls.
void* (*volatile allocate)(std::size_t) = std::malloc;
void (*volatile release)(void*) = std::free;

std::size_t resident_file_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  REQUIRE(f != nullptr);
  unsigned long size = 0, resident = 0, shared = 0;
  REQUIRE(std::fscanf(f, "%lu %lu %lu", &size, &resident, &shared) == 3);
  std::fclose(f);
  return shared * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

// Relocated at load (pointers in a read-only table: .data.rel.ro, protected by RELRO afterwards).
const char* const relocated_table[] = {"first", "second", "third"};
// Written at run time.
int written_at_run_time = 0;

}  // namespace

TEST_CASE("a fixed mmap threshold keeps large buffers out of the heap after a larger one is freed") {
  nodepack::fix_mmap_threshold(128 * 1024);
  // glibc's dynamic threshold would now rise to 4 MiB, and the next 256 KiB come from the heap.
  void* big = allocate(4 << 20);
  REQUIRE(big != nullptr);
  release(big);
  const auto mapped_before = ::mallinfo2().hblkhd;
  void* buffer = allocate(256 << 10);
  REQUIRE(buffer != nullptr);
  const auto mapped_while_held = ::mallinfo2().hblkhd;
  release(buffer);
  CHECK(mapped_while_held >= mapped_before + (256 << 10));
  CHECK(::mallinfo2().hblkhd == mapped_before);
}

// [not-emulated]: qemu-user ignores MADV_DONTNEED on file mappings (it may have turned them into
// anonymous ones) and answers /proc/self/statm for itself, so nothing it reports would drop.
TEST_CASE("dropping read-only segments unmaps resident code, and the program runs on unchanged", "[not-emulated]") {
  written_at_run_time = 42;
  // Fault in code from the program and its libraries first.
  const std::regex pattern("([0-9]+)h([0-9]+)m");
  std::smatch m;
  const std::string text = "1h30m";
  REQUIRE(std::regex_match(text, m, pattern));

  const auto before = resident_file_bytes();
  const auto dropped = nodepack::drop_read_only_segments();
  const auto after = resident_file_bytes();
  INFO("resident file-backed bytes before " << before << ", after " << after << ", reported " << dropped);
  // Code of this test, libstdc++ and libc was resident; at least some of it is gone, and what the
  // call reports is what statm saw (before it read statm again: later faults only add).
  CHECK(dropped > 0);
  CHECK(after < before);
  CHECK(dropped >= before - after);

  // Code and constants come back from the page cache on use; written data was not touched.
  REQUIRE(std::regex_match(text, m, pattern));
  CHECK(m[1] == "1");
  CHECK(m[2] == "30");
  CHECK(*nodepack::parse_go_duration("2m") == std::chrono::minutes(2));
  CHECK(std::string(relocated_table[0]) == "first");
  CHECK(std::string(relocated_table[2]) == "third");
  CHECK(written_at_run_time == 42);
}
