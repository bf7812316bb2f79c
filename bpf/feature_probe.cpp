#include "bpf/feature_probe.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/btf.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <fstream>
#include <memory>

namespace nodepack::bpf {

bool FeatureProbe::supports(std::string_view feature) {
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(feature); it != cache_.end()) {
      return it->second;
    }
  }
  bool ok = probe(feature);
  std::lock_guard lock(mu_);
  auto [it, inserted] = cache_.emplace(std::string(feature), ok);
  if (inserted) {
    spdlog::info("bpf feature probe: {} {}", feature, ok ? "available" : "NOT available");
  }
  return it->second;
}

std::map<std::string, bool> FeatureProbe::answers() const {
  std::lock_guard lock(mu_);
  return {cache_.begin(), cache_.end()};
}

namespace {

struct BtfDeleter {
  void operator()(struct btf* b) const { btf__free(b); }
};

bool vmlinux_has_typedef(std::string_view name) {
  std::unique_ptr<struct btf, BtfDeleter> btf(btf__load_vmlinux_btf());
  if (!btf) {
    return false;
  }
  return btf__find_by_name_kind(btf.get(), std::string(name).c_str(), BTF_KIND_TYPEDEF) > 0;
}

// Is argument `index` (after the hidden context) of tracepoint `tp` a pointer?
bool tracepoint_arg_is_pointer(const std::string& tp, unsigned index) {
  std::unique_ptr<struct btf, BtfDeleter> btf(btf__load_vmlinux_btf());
  if (!btf) {
    return false;
  }
  int id = btf__find_by_name_kind(btf.get(), ("btf_trace_" + tp).c_str(), BTF_KIND_TYPEDEF);
  if (id <= 0) {
    return false;
  }
  const struct btf_type* t = btf__type_by_id(btf.get(), btf__resolve_type(btf.get(), id));
  if (t == nullptr || !btf_is_ptr(t)) {
    return false;
  }
  t = btf__type_by_id(btf.get(), t->type);
  if (t == nullptr || !btf_is_func_proto(t) || btf_vlen(t) <= index + 1) {
    return false;
  }
  const struct btf_param* params = btf_params(t);
  const struct btf_type* arg = btf__type_by_id(btf.get(), btf__resolve_type(btf.get(), params[index + 1].type));
  return arg != nullptr && btf_is_ptr(arg);
}

// Does kernel BTF describe `struct <name>` with a member `member`?
bool struct_has_member(const char* name, std::string_view member) {
  std::unique_ptr<struct btf, BtfDeleter> btf(btf__load_vmlinux_btf());
  if (!btf) {
    return false;
  }
  int id = btf__find_by_name_kind(btf.get(), name, BTF_KIND_STRUCT);
  const struct btf_type* t = id > 0 ? btf__type_by_id(btf.get(), id) : nullptr;
  if (t == nullptr) {
    return false;
  }
  const struct btf_member* m = btf_members(t);
  for (unsigned i = 0; i < btf_vlen(t); ++i, ++m) {
    if (const char* n = btf__name_by_offset(btf.get(), m->name_off); n != nullptr && member == n) {
      return true;
    }
  }
  return false;
}

// Parameters of the tracepoint's BTF prototype, the hidden context included; 0 when unknown.
unsigned tracepoint_arity(const std::string& tp) {
  std::unique_ptr<struct btf, BtfDeleter> btf(btf__load_vmlinux_btf());
  if (!btf) {
    return 0;
  }
  int id = btf__find_by_name_kind(btf.get(), ("btf_trace_" + tp).c_str(), BTF_KIND_TYPEDEF);
  if (id <= 0) {
    return 0;
  }
  const struct btf_type* t = btf__type_by_id(btf.get(), btf__resolve_type(btf.get(), id));
  t = (t != nullptr && btf_is_ptr(t)) ? btf__type_by_id(btf.get(), t->type) : nullptr;
  return (t != nullptr && btf_is_func_proto(t)) ? btf_vlen(t) : 0;
}

}  // namespace

bool KernelFeatureProbe::probe(std::string_view feature) {
  if (feature == "btf") {
    std::unique_ptr<struct btf, BtfDeleter> btf(btf__load_vmlinux_btf());
    return btf != nullptr;
  }
  if (feature.starts_with("tp_btf:")) {
    // tp_btf needs kernel BTF describing the tracepoint (btf_trace_<name>, Linux 5.5+) and the
    // tracing program type.
    return supports("btf") && supports("raw_tp") && vmlinux_has_typedef("btf_trace_" + std::string(feature.substr(7)));
  }
  if (feature == "mark_victim:task") {
    // Older kernels' oom:mark_victim passes only the victim's pid; newer ones pass the task
    // (together with the uid field of the event), which is what lets us read its cgroup.
    return tracepoint_arg_is_pointer("mark_victim", 0);
  }
  if (feature == "kfree_skb:reason" || feature == "kfree_skb:rx_sk") {
    // Linux 5.17 added the drop reason, 6.13 the receiving socket: (ctx, skb, location, reason, rx_sk).
    return tracepoint_arity("kfree_skb") >= (feature == "kfree_skb:reason" ? 4u : 5u);
  }
  if (feature == "sched_info") {
    // The scheduler's run-queue stamps (task_struct.sched_info.last_queued, CONFIG_SCHED_INFO),
    // the run queue reachable from a task (cfs_rq->rq, CONFIG_FAIR_GROUP_SCHED, for its clock),
    // and the accounting actually running:
    // before Linux 5.14 it ran only with schedstats or delay accounting on. A process that has
    // run has a non-zero third field ("timeslices") in /proc/self/schedstat exactly then.
    if (!struct_has_member("sched_info", "last_queued") || !struct_has_member("cfs_rq", "rq")) {
      return false;
    }
    std::ifstream in("/proc/self/schedstat");
    unsigned long long on_cpu_ns = 0, run_delay_ns = 0, timeslices = 0;
    return static_cast<bool>(in >> on_cpu_ns >> run_delay_ns >> timeslices) && timeslices > 0;
  }
  if (feature == "block_rq_issue:request_first") {
    // Linux 5.11 dropped block_rq_issue's leading request_queue argument.
    std::unique_ptr<struct btf, BtfDeleter> btf(btf__load_vmlinux_btf());
    if (!btf) {
      return true;  // no BTF to ask: assume a current kernel
    }
    int id = btf__find_by_name_kind(btf.get(), "btf_trace_block_rq_issue", BTF_KIND_TYPEDEF);
    if (id <= 0) {
      return true;
    }
    const struct btf_type* t = btf__type_by_id(btf.get(), btf__resolve_type(btf.get(), id));
    t = (t != nullptr && btf_is_ptr(t)) ? btf__type_by_id(btf.get(), t->type) : nullptr;
    return t != nullptr && btf_is_func_proto(t) && btf_vlen(t) == 2;  // (void *ctx, struct request *)
  }
  if (feature == "raw_tp") {
    return libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_RAW_TRACEPOINT, nullptr) == 1;
  }
  if (feature == "cgroup_skb") {
    return libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_CGROUP_SKB, nullptr) == 1;
  }
  if (feature == "cgroup_sock_addr") {
    // cgroup connect/sendmsg/recvmsg programs that may keep socket storage (the recvmsg hooks:
    // Linux 5.2; bpf_sk_storage_get from them: 5.10) and reach their socket (the
    // bpf_cast_to_kern_ctx kfunc: 6.2).
    std::unique_ptr<struct btf, BtfDeleter> btf(btf__load_vmlinux_btf());
    return btf != nullptr && btf__find_by_name_kind(btf.get(), "bpf_cast_to_kern_ctx", BTF_KIND_FUNC) > 0 &&
           libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, nullptr) == 1 &&
           libbpf_probe_bpf_map_type(BPF_MAP_TYPE_SK_STORAGE, nullptr) == 1 &&
           libbpf_probe_bpf_helper(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_FUNC_sk_storage_get, nullptr) == 1;
  }
  if (feature == "bpf_stats") {
    int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
    if (fd < 0) {
      return false;
    }
    close(fd);
    return true;
  }
  spdlog::warn("bpf feature probe: unknown feature {}", feature);
  return false;
}

}  // namespace nodepack::bpf
