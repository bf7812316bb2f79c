#include "bpf/sched/sched_variant.hpp"

namespace nodepack::bpf {

std::string_view sched_variant_name(SchedVariant v) {
  switch (v) {
    case SchedVariant::slots:
      return "sched_slots";
    case SchedVariant::info:
      return "sched_info";
    case SchedVariant::btf:
      return "tp_btf";
    case SchedVariant::raw:
      return "raw_tp";
  }
  return "?";
}

std::optional<SchedPreference> parse_sched_preference(std::string_view text) {
  if (text == "auto") {
    return SchedPreference::automatic;
  }
  if (text == "sched_slots") {
    return SchedPreference::slots;
  }
  if (text == "sched_info") {
    return SchedPreference::info;
  }
  if (text == "classic") {
    return SchedPreference::classic;
  }
  return std::nullopt;
}

std::vector<SchedVariant> sched_candidates(const SchedKernel& kernel, SchedPreference preference) {
  std::vector<SchedVariant> out;
  const bool stamps = kernel.tp_btf_switch && kernel.stamps && preference != SchedPreference::classic;
  if (stamps && preference != SchedPreference::info) {
    out.push_back(SchedVariant::slots);
  }
  if (stamps) {
    out.push_back(SchedVariant::info);
  }
  if (kernel.tp_btf_switch && kernel.tp_btf_wakeups) {
    out.push_back(SchedVariant::btf);
  }
  if (kernel.raw_tp) {
    out.push_back(SchedVariant::raw);
  }
  return out;
}

}  // namespace nodepack::bpf
