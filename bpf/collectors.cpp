#include "bpf/collectors.hpp"

namespace nodepack::bpf {

// One line per collector: its folder's name and the smallest profile that has it. Each folder's
// <name>_collector.cpp defines make_<name>_collector.
#define NODEPACK_BPF_COLLECTOR_TABLE(X) \
  X(sched, minimal)                     \
  X(oom, minimal)                       \
  X(tcp, standard)                      \
  X(tcpdrop, standard)                  \
  X(blkio, standard)                    \
  X(syscall, comprehensive)             \
  X(irq, comprehensive)                 \
  X(proc, comprehensive)                \
  X(topology, comprehensive)            \
  X(dns, comprehensive)                 \
  X(http, comprehensive)

#define NODEPACK_DECLARE_FACTORY(name, profile) \
  std::unique_ptr<kpod::Collector> make_##name##_collector(const BpfDeps&);
NODEPACK_BPF_COLLECTOR_TABLE(NODEPACK_DECLARE_FACTORY)
#undef NODEPACK_DECLARE_FACTORY

std::vector<kpod::CollectorSpec> bpf_collectors(FeatureProbe& features) {
  std::vector<kpod::CollectorSpec> out;
#define NODEPACK_SPEC(name, profile)                                                              \
  out.push_back({#name, kpod::Profile::profile, true, [&features](const kpod::CollectorDeps& d) { \
                   return make_##name##_collector(BpfDeps{features, d});                          \
                 }});
  NODEPACK_BPF_COLLECTOR_TABLE(NODEPACK_SPEC)
#undef NODEPACK_SPEC
  return out;
}

}  // namespace nodepack::bpf
