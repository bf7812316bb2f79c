#pragma once

// Where the API server is and how to authenticate to it, resolved the way client-go does:
// --kubeconfig, then $KUBECONFIG, then ~/.kube/config, then the in-cluster service account.

#include "common/result.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nodepack::kube {

// client.authentication.k8s.io exec credential plugin (v1 or v1beta1).
struct ExecConfig {
  std::string api_version;
  std::string command;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  std::filesystem::path working_dir;  // the kubeconfig's directory, for relative commands
};

struct ClusterConfig {
  std::string server;  // "https://host:port" or "http://host:port"
  std::string ca_pem;  // empty: the system trust store
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string token;
  std::filesystem::path token_file;  // re-read when it changes (service account tokens rotate)
  std::optional<ExecConfig> exec;
  std::string namespace_name = "default";
  std::string source;  // where this came from, for logs: "kubeconfig /x context y", "in-cluster"
};

// The in-cluster service account; paths injectable so tests use fixtures.
struct InClusterPaths {
  std::filesystem::path token = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::filesystem::path ca = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
  std::filesystem::path namespace_file = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
};

struct ConfigRequest {
  std::string kubeconfig_flag;                // --kubeconfig
  std::string context;                        // --context; empty = current-context
  std::optional<std::string> kubeconfig_env;  // $KUBECONFIG
  std::optional<std::string> home;            // $HOME
  std::optional<std::string> service_host;    // $KUBERNETES_SERVICE_HOST
  std::optional<std::string> service_port;    // $KUBERNETES_SERVICE_PORT
  InClusterPaths in_cluster;

  // Fills the environment-derived fields from the process environment.
  static ConfigRequest from_environment(std::string kubeconfig_flag, std::string context);
};

// Loads one kubeconfig file and picks `context` (or its current-context).
Result<ClusterConfig> load_kubeconfig(const std::filesystem::path& path, const std::string& context);
Result<ClusterConfig> load_in_cluster(const std::string& host, const std::string& port, const InClusterPaths& paths);
// Applies the resolution order; says which source it used or why none worked.
Result<ClusterConfig> resolve_cluster_config(const ConfigRequest& request);

Result<std::string> base64_decode(std::string_view text);

}  // namespace nodepack::kube
