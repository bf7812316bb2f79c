#pragma once

#include <chrono>

namespace nodepack::agent {

// When the kernel's BPF run-time statistics (nodepack_bpf_program_run_*) are on. While they are,
// the kernel reads its clock around every run of every BPF program on the node, the CNI's and
// other tools' included, so by default they are on for a short window now and then: enough for
// each program's cost per run, at a small share of the price (bench/README.md).
struct BpfStatsPolicy {
  enum class Mode { off, sampled, always };
  Mode mode = Mode::sampled;
  std::chrono::nanoseconds window = std::chrono::seconds(10);  // sampled: on for this long ...
  std::chrono::nanoseconds period = std::chrono::minutes(5);   // ... at the start of every period
};

}  // namespace nodepack::agent
