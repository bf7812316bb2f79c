#pragma once

// Cgroup programs (cgroup_skb, cgroup socket hooks) attached to every kubepods cgroup the
// resolver finds: at start, and again whenever a new one appears (a QoS class's first pod). Each
// attachment is a bpf_link, so several collectors' programs share a cgroup (BPF_F_ALLOW_MULTI)
// and everything detaches when the collector goes.
//
//   CgroupAttachments att("tcp", {skel->progs.tcp_bytes_ingress, skel->progs.tcp_bytes_egress});
//   att.attach_new(resolver);  // at start and at every collect()

#include "cgroup/resolver.hpp"

#include <linux/bpf.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
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
  // logged, left without any of them, and tried again next time. A cgroup where one of ours would
  // switch off another program (overridable_ancestor) is left alone the same way.
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
  std::set<std::filesystem::path> refused_;  // said why once; checked again every time
};

// The nearest ancestor of cgroup `dir` (up to the cgroup v2 root) holding a program of `type`
// attached the legacy way with BPF_F_ALLOW_OVERRIDE: the kernel runs a program below such a one
// instead of it, so attaching ours to `dir` would switch it off for every pod there (a CNI's
// socket load balancer, a firewall). None when the nearest ancestor with programs of that type
// allows several (BPF_F_ALLOW_MULTI: they all run), or none has any.
std::optional<std::filesystem::path> overridable_ancestor(const std::filesystem::path& dir, bpf_attach_type type);

}  // namespace nodepack::bpf
