#pragma once

// Cgroup programs (cgroup_skb, cgroup socket hooks) attached to every kubepods cgroup the
// resolver finds: at start, and again whenever a new one appears (a QoS class's first pod). Each
// attachment is a bpf_link, so several collectors' programs share a cgroup (BPF_F_ALLOW_MULTI)
// and everything detaches when the collector goes.
//
//   CgroupAttachments att("tcp", {skel->progs.tcp_bytes_ingress, skel->progs.tcp_bytes_egress});
//   att.attach_new(resolver);  // at start and at every collect()

#include "cgroup/resolver.hpp"

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

struct bpf_link;
struct bpf_program;

namespace nodepack::bpf {

class CgroupAttachments {
 public:
  // `collector` names it in logs; `programs` are loaded and outlive this object.
  CgroupAttachments(std::string collector, std::vector<bpf_program*> programs);
  ~CgroupAttachments();
  CgroupAttachments(CgroupAttachments&&) noexcept;
  CgroupAttachments& operator=(CgroupAttachments&&) noexcept;

  // Attaches every program to each kubepods cgroup not attached yet; a cgroup where any fails is
  // logged, left without any of them, and tried again next time.
  void attach_new(const cgroup::CgroupResolver& resolver);
  // Cgroups every program is attached to.
  std::vector<std::filesystem::path> attached() const;

 private:
  struct LinkDeleter {
    void operator()(bpf_link* l) const;
  };
  using LinkPtr = std::unique_ptr<bpf_link, LinkDeleter>;

  std::string collector_;
  std::vector<bpf_program*> programs_;
  std::map<std::filesystem::path, std::vector<LinkPtr>> links_;
};

}  // namespace nodepack::bpf
