#pragma once

#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace nodepack::bpf {

// What the running kernel can take, asked before any program is loaded. Every answer is cached
// and logged once; the registry exports the cached answers as nodepack_bpf_feature{feature}.
//
// Feature names:
//   "btf"                 kernel BTF is readable (CO-RE relocations can be resolved)
//   "tp_btf:<tracepoint>" a BTF-typed tracepoint program can attach to <tracepoint>
//   "raw_tp"              raw tracepoint programs load
//   "cgroup_skb"          cgroup socket-buffer programs load
//   "cgroup_sock_addr"    cgroup connect/sendmsg/recvmsg programs with socket storage and
//                         bpf_cast_to_kern_ctx (Linux 6.2+; topology's UDP)
//   "mark_victim:task"    oom:mark_victim passes the victim task (not only its pid)
//   "sched_info"          the scheduler's run-queue stamps are kept and readable (sched collector)
//   "kfree_skb:reason"    skb:kfree_skb passes the drop reason (Linux 5.17+)
//   "kfree_skb:rx_sk"     ... and the receiving socket (Linux 6.13+)
//   "block_rq_issue:request_first"  block_rq_issue takes (request) rather than (queue, request)
//   "bpf_stats"           run-time statistics can be switched on (BPF_STATS_RUN_TIME)
class FeatureProbe {
 public:
  virtual ~FeatureProbe() = default;

  bool supports(std::string_view feature);
  std::map<std::string, bool> answers() const;

 protected:
  virtual bool probe(std::string_view feature) = 0;

 private:
  mutable std::mutex mu_;
  std::map<std::string, bool, std::less<>> cache_;
};

// Asks the kernel: loads tiny programs and reads /sys/kernel/btf/vmlinux (via libbpf).
class KernelFeatureProbe final : public FeatureProbe {
 protected:
  bool probe(std::string_view feature) override;
};

// Answers from a table; for tests and for forcing a fallback.
class FixedFeatureProbe final : public FeatureProbe {
 public:
  explicit FixedFeatureProbe(std::map<std::string, bool, std::less<>> answers, bool fallback = false)
      : table_(std::move(answers)), fallback_(fallback) {}

 protected:
  bool probe(std::string_view feature) override {
    auto it = table_.find(feature);
    return it == table_.end() ? fallback_ : it->second;
  }

 private:
  std::map<std::string, bool, std::less<>> table_;
  bool fallback_;
};

}  // namespace nodepack::bpf
