#include "bench/raw_cgroup_programs.hpp"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace nodepack::bench {
namespace {

// Attaches a loaded program to the cgroup at `cgroup`; the link's fd, or -1 with errno.
int attach(int prog_fd, const std::filesystem::path& cgroup, bpf_attach_type type) {
  const int cg = ::open(cgroup.c_str(), O_RDONLY | O_DIRECTORY);
  if (cg < 0) {
    return -1;
  }
  const int link = bpf_link_create(prog_fd, cg, type, nullptr);
  ::close(cg);
  return link;
}

// errno as libbpf spells it: its own codes (4000 and up: not an ELF object, no BTF...) as well.
std::string error_text(const std::string& what) {
  const int error = errno;
  char text[256];
  if (libbpf_strerror(error, text, sizeof text) != 0) {
    return what + ": " + std::strerror(error);
  }
  return what + ": " + text;
}

}  // namespace

Result<std::unique_ptr<RawCgroupPrograms>> RawCgroupPrograms::from_object(const std::string& path,
                                                                          const std::filesystem::path& cgroup) {
  std::unique_ptr<RawCgroupPrograms> out(new RawCgroupPrograms);
  out->object_ = bpf_object__open_file(path.c_str(), nullptr);
  if (out->object_ == nullptr) {
    return fail(error_text("open " + path));
  }
  if (bpf_object__load(out->object_) != 0) {
    return fail(error_text("load " + path));
  }
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, out->object_) {
    Program p{bpf_program__name(prog), bpf_program__fd(prog), -1};
    p.link = attach(p.fd, cgroup, bpf_program__expected_attach_type(prog));
    if (p.link < 0) {
      return fail(error_text("attach " + p.name));
    }
    out->programs_.push_back(p);
  }
  return out;
}

Result<std::unique_ptr<RawCgroupPrograms>> RawCgroupPrograms::returning_at_once(const std::filesystem::path& cgroup) {
  std::unique_ptr<RawCgroupPrograms> out(new RawCgroupPrograms);
  const bpf_insn pass[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1},  // r0 = 1: let the packet through
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  for (const auto& [name, type] :
       {std::pair{"empty_egress", BPF_CGROUP_INET_EGRESS}, std::pair{"empty_ingress", BPF_CGROUP_INET_INGRESS}}) {
    LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = type);
    Program p{name, bpf_prog_load(BPF_PROG_TYPE_CGROUP_SKB, name, "GPL", pass, 2, &opts), -1};
    if (p.fd < 0) {
      return fail(error_text(std::string("load ") + name));
    }
    out->programs_.push_back(p);
    out->programs_.back().link = attach(p.fd, cgroup, type);
    if (out->programs_.back().link < 0) {
      return fail(error_text(std::string("attach ") + name));
    }
  }
  return out;
}

RawCgroupPrograms::~RawCgroupPrograms() {
  for (const auto& p : programs_) {
    if (p.link >= 0) {
      ::close(p.link);
    }
    if (object_ == nullptr && p.fd >= 0) {
      ::close(p.fd);
    }
  }
  bpf_object__close(object_);
}

std::vector<kpod::ProgramStats> RawCgroupPrograms::stats() const {
  std::vector<kpod::ProgramStats> out;
  for (const auto& p : programs_) {
    bpf_prog_info info{};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(p.fd, &info, &len) == 0) {
      out.push_back({p.name, info.run_cnt, info.run_time_ns});
    }
  }
  return out;
}

}  // namespace nodepack::bench
