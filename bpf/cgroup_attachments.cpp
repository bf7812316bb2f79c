#include "bpf/cgroup_attachments.hpp"

#include <bpf/libbpf.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
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

std::vector<std::filesystem::path> CgroupAttachments::attached() const {
  std::vector<std::filesystem::path> out;
  for (const auto& [dir, links] : links_) {
    out.push_back(dir);
  }
  return out;
}

}  // namespace nodepack::bpf
