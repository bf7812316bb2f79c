#pragma once

// The kubelet's topology manager settings, which a NodeResourceTopology object carries for the
// scheduler: from flags when given, else from the kubelet's configuration file, else the
// kubelet's defaults.

#include <filesystem>
#include <string>

namespace nodepack::agent {

struct TopologyManagerConfig {
  std::string policy = "none";              // none, best-effort, restricted, single-numa-node
  std::string scope = "container";          // container, pod
  std::string source = "kubelet defaults";  // where the values came from, for /debug/nrt
};

// `config_file` is the kubelet's KubeletConfiguration (kubeadm writes <kubelet-root>/config.yaml):
// topologyManagerPolicy and topologyManagerScope. Flags win; a missing or unreadable file leaves
// the defaults and says so in `source`.
TopologyManagerConfig topology_manager_config(const std::string& policy_flag, const std::string& scope_flag,
                                              const std::filesystem::path& config_file);

}  // namespace nodepack::agent
