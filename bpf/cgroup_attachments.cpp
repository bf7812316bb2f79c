#include "bpf/cgroup_attachments.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <spdlog/spdlog.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace nodepack::bpf {

void CgroupAttachments::LinkDeleter::operator()(bpf_link* l) const { bpf_link__destroy(l); }

CgroupAttachments::CgroupAttachments(std::string collector, std::vector<bpf_program*> programs)
    : collector_(std::move(collector)), programs_(std::move(programs)) {}
CgroupAttachments::~CgroupAttachments() = default;
CgroupAttachments::CgroupAttachments(CgroupAttachments&&) noexcept = default;
CgroupAttachments& CgroupAttachments::operator=(CgroupAttachments&&) noexcept = default;

void CgroupAttachments::attach_new(const cgroup::CgroupResolver& resolver) {
  for (const auto& dir : resolver.kubepods_dirs()) {
    if (links_.contains(dir)) {
      continue;
    }
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      spdlog::warn("bpf collector {}: cannot open {}: {}", collector_, dir.string(), std::strerror(errno));
      continue;
    }
    std::vector<LinkPtr> links;
    for (auto* prog : programs_) {
      const auto type = bpf_program__expected_attach_type(prog);
      if (const auto owner = overridable_ancestor(dir, type)) {
        if (refused_.insert(dir).second) {
          spdlog::warn(
              "bpf collector {}: not attaching {} to {}: {} holds a program of that type attached with "
              "BPF_F_ALLOW_OVERRIDE, which ours would replace for every pod below it",
              collector_, bpf_program__name(prog), dir.string(), owner->string());
        }
        break;
      }
      LinkPtr link(bpf_program__attach_cgroup(prog, fd));
      if (!link) {
        spdlog::warn("bpf collector {}: cannot attach {} to {}: {}", collector_, bpf_program__name(prog), dir.string(),
                     std::strerror(errno));
        break;
      }
      links.push_back(std::move(link));
    }
    ::close(fd);  // the links keep the cgroup
    if (links.size() != programs_.size()) {
      continue;  // the ones attached detach here
    }
    spdlog::info("bpf collector {}: attached to {}", collector_, dir.string());
    links_.emplace(dir, std::move(links));
  }
}

std::optional<std::filesystem::path> overridable_ancestor(const std::filesystem::path& dir, bpf_attach_type type) {
  for (auto p = dir.parent_path(); !p.empty(); p = p.parent_path()) {
    struct statfs fs {};
    if (::statfs(p.c_str(), &fs) != 0 || fs.f_type != CGROUP2_SUPER_MAGIC) {
      return std::nullopt;  // above the cgroup v2 root
    }
    const int fd = ::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      return std::nullopt;
    }
    __u32 flags = 0;
    __u32 count = 0;
    const int err = bpf_prog_query(fd, type, 0, &flags, nullptr, &count);
    ::close(fd);
    if (err == 0 && count > 0) {
      // The nearest ancestor with programs decides (the kernel's effective-program rule): with
      // several allowed they all run, overridable ones would stop; any further up are already
      // overridden by these, or run beside them.
      if ((flags & BPF_F_ALLOW_MULTI) != 0 || (flags & BPF_F_ALLOW_OVERRIDE) == 0) {
        return std::nullopt;  // (neither flag: the kernel refuses attaching below; nothing to guard)
      }
      return p;
    }
    if (p == p.root_path()) {
      break;
    }
  }
  return std::nullopt;
}

std::vector<std::filesystem::path> CgroupAttachments::attached() const {
  std::vector<std::filesystem::path> out;
  for (const auto& [dir, links] : links_) {
    out.push_back(dir);
  }
  return out;
}

}  // namespace nodepack::bpf
