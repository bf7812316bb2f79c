// What the binary embeds for the kernel is the target architecture's, asserted without a kernel
// (these run on both builds, the arm64 one under qemu-user): the BPF objects were compiled
// against the pinned vmlinux.h of that architecture, and the tracked syscalls carry its numbers.
#include "bpf/syscall/syscall_names.hpp"

#include "sched.skel.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <elf.h>

#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <set>
#include <string>

namespace nb = nodepack::bpf;

namespace {

// Member names of a struct in the object's BTF (empty if the object has no such struct).
std::set<std::string> struct_members(const btf* b, const char* name) {
  std::set<std::string> out;
  const auto id = btf__find_by_name_kind(b, name, BTF_KIND_STRUCT);
  if (id < 0) {
    return out;
  }
  const btf_type* t = btf__type_by_id(b, static_cast<__u32>(id));
  const btf_member* m = btf_members(t);
  for (int i = 0; i < btf_vlen(t); ++i) {
    out.emplace(btf__name_by_offset(b, m[i].name_off));
  }
  return out;
}

}  // namespace

// CO-RE moves fields to where the running kernel has them, but the types a program was compiled
// with are the pinned header's: an arm64 build compiled against the x86-64 header would carry
// x86-64 structs. The sched program reads task_struct, whose thread_struct is per architecture:
// cpu_context on arm64, fsbase on x86-64.
TEST_CASE("the embedded BPF objects were compiled against the target architecture's kernel types") {
  size_t size = 0;
  const void* bytes = sched_bpf::elf_bytes(&size);
  REQUIRE(size > sizeof(Elf64_Ehdr));
  Elf64_Ehdr ehdr;
  std::memcpy(&ehdr, bytes, sizeof ehdr);
  CHECK(ehdr.e_machine == EM_BPF);
  CHECK(ehdr.e_ident[EI_CLASS] == ELFCLASS64);
  CHECK(ehdr.e_ident[EI_DATA] == ELFDATA2LSB);  // both targets are little-endian

  // Opening parses the ELF and its BTF only; nothing reaches the kernel before a load.
  std::unique_ptr<bpf_object, decltype(&bpf_object__close)> obj(bpf_object__open_mem(bytes, size, nullptr),
                                                                &bpf_object__close);
  REQUIRE(obj != nullptr);
  const btf* b = bpf_object__btf(obj.get());
  REQUIRE(b != nullptr);
  CHECK(struct_members(b, "task_struct").count("thread") == 1);
  const auto thread = struct_members(b, "thread_struct");
#if defined(__aarch64__)
  CHECK(thread.count("cpu_context") == 1);
  CHECK(thread.count("fsbase") == 0);
  CHECK(btf__find_by_name_kind(b, "cpu_context", BTF_KIND_STRUCT) > 0);
#elif defined(__x86_64__)
  CHECK(thread.count("fsbase") == 1);
  CHECK(thread.count("cpu_context") == 0);
  CHECK(btf__find_by_name_kind(b, "cpu_context", BTF_KIND_STRUCT) < 0);
#else
#error "nodepack's BPF objects are built for x86-64 and arm64 only"
#endif
}

// The syscall collector marks syscalls by number; arm64 has the generic table (no open, stat,
// poll, fork: their *at / p* successors only), x86-64 its own.
TEST_CASE("tracked syscalls carry the target architecture's numbers") {
#if defined(__aarch64__)
  CHECK(nb::syscall_number("read") == 63);
  CHECK(nb::syscall_number("openat") == 56);
  CHECK(nb::syscall_number("epoll_pwait") == 22);
  CHECK(nb::syscall_number("clone") == 220);
  CHECK(nb::syscall_number("open") == std::nullopt);
  CHECK(nb::syscall_number("fork") == std::nullopt);
  CHECK(nb::syscall_name(56) == "openat");
  CHECK(nb::syscall_name(2) == "nr_2");  // io_submit on arm64, not in the table
#elif defined(__x86_64__)
  CHECK(nb::syscall_number("read") == 0);
  CHECK(nb::syscall_number("openat") == 257);
  CHECK(nb::syscall_number("epoll_pwait") == 281);
  CHECK(nb::syscall_number("clone") == 56);
  CHECK(nb::syscall_number("open") == 2);
  CHECK(nb::syscall_number("fork") == 57);
  CHECK(nb::syscall_name(56) == "clone");
  CHECK(nb::syscall_name(2) == "open");
#endif
  // kpod-metrics' default set exists on both.
  for (const auto& name : nb::default_tracked_syscalls()) {
    INFO(name);
    CHECK(nb::syscall_number(name).has_value());
  }
}
