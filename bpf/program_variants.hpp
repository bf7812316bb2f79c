#pragma once

#include "bpf/feature_probe.hpp"
#include "common/result.hpp"

#include <bpf/libbpf.h>

#include <initializer_list>
#include <string>

namespace nodepack::bpf {

enum class HookFlavor { tp_btf, raw_tp };

inline const char* to_string(HookFlavor f) { return f == HookFlavor::tp_btf ? "tp_btf" : "raw_tp"; }

// tp_btf when the kernel has BTF for every tracepoint listed, else raw_tp, else an error.
inline Result<HookFlavor> choose_flavor(FeatureProbe& features, std::initializer_list<const char*> tracepoints) {
  bool btf = true;
  for (const char* tp : tracepoints) {
    btf = btf && features.supports(std::string("tp_btf:") + tp);
  }
  if (btf) {
    return HookFlavor::tp_btf;
  }
  if (features.supports("raw_tp")) {
    return HookFlavor::raw_tp;
  }
  return fail("kernel takes neither tp_btf nor raw_tp programs");
}

// Each hook is compiled twice; only the chosen flavour is loaded.
inline void select_flavor(HookFlavor f, std::initializer_list<bpf_program*> btf_progs,
                          std::initializer_list<bpf_program*> raw_progs) {
  for (auto* p : btf_progs) {
    bpf_program__set_autoload(p, f == HookFlavor::tp_btf);
  }
  for (auto* p : raw_progs) {
    bpf_program__set_autoload(p, f == HookFlavor::raw_tp);
  }
}

}  // namespace nodepack::bpf
