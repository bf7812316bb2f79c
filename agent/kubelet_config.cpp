#include "agent/kubelet_config.hpp"

#include <yaml-cpp/yaml.h>

namespace nodepack::agent {

TopologyManagerConfig topology_manager_config(const std::string& policy_flag, const std::string& scope_flag,
                                              const std::filesystem::path& config_file) {
  TopologyManagerConfig c;
  std::error_code ec;
  if ((policy_flag.empty() || scope_flag.empty()) && std::filesystem::is_regular_file(config_file, ec)) {
    try {
      const YAML::Node doc = YAML::LoadFile(config_file.string());
      if (doc.IsMap()) {
        if (doc["topologyManagerPolicy"] && doc["topologyManagerPolicy"].IsScalar()) {
          c.policy = doc["topologyManagerPolicy"].as<std::string>();
        }
        if (doc["topologyManagerScope"] && doc["topologyManagerScope"].IsScalar()) {
          c.scope = doc["topologyManagerScope"].as<std::string>();
        }
        c.source = config_file.string();
      } else {
        c.source = "kubelet defaults (" + config_file.string() + " is not a KubeletConfiguration)";
      }
    } catch (const YAML::Exception& e) {
      c.source = "kubelet defaults (" + config_file.string() + ": " + e.what() + ")";
    }
  }
  if (!policy_flag.empty() || !scope_flag.empty()) {
    c.policy = policy_flag.empty() ? c.policy : policy_flag;
    c.scope = scope_flag.empty() ? c.scope : scope_flag;
    c.source = "flags" + (c.source == "kubelet defaults" ? std::string() : " and " + c.source);
  }
  return c;
}

}  // namespace nodepack::agent
