#pragma once

// Every BPF collector nodepack has, as specs for kpod's registry.

#include "bpf/feature_probe.hpp"
#include "kpod/registry.hpp"

#include <memory>
#include <vector>

namespace nodepack::bpf {

// What a BPF collector factory may use.
struct BpfDeps {
  FeatureProbe& features;
  const kpod::CollectorDeps& collector;
};

// The table (collectors.cpp), in registry order; factories use `features` for every answer about
// the kernel.
std::vector<kpod::CollectorSpec> bpf_collectors(FeatureProbe& features);

}  // namespace nodepack::bpf
