#include "kube/kubeconfig.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

namespace nodepack::kube {
namespace {

namespace fs = std::filesystem;

Result<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail("cannot read " + path.string());
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

fs::path relative_to(const fs::path& base_dir, const std::string& p) {
  fs::path path(p);
  return path.is_absolute() ? path : base_dir / path;
}

std::string scalar(const YAML::Node& node, const char* key) {
  const auto child = node[key];
  return child && child.IsScalar() ? child.as<std::string>() : std::string();
}

// Finds the entry named `name` in a kubeconfig list such as clusters: [{name, cluster: {...}}].
std::optional<YAML::Node> named_entry(const YAML::Node& list, const std::string& name, const char* inner) {
  if (!list || !list.IsSequence()) {
    return std::nullopt;
  }
  for (const auto& item : list) {
    if (item.IsMap() && item["name"] && item["name"].as<std::string>() == name) {
      const auto entry = item[inner];
      return entry && entry.IsMap() ? std::optional<YAML::Node>(entry)
                                    : std::optional<YAML::Node>(YAML::Node(YAML::NodeType::Map));
    }
  }
  return std::nullopt;
}

// "<field>-data" (base64) wins over "<field>" (a path relative to the kubeconfig).
Result<std::string> pem_from(const YAML::Node& node, const char* file_key, const char* data_key, const fs::path& dir) {
  if (auto data = scalar(node, data_key); !data.empty()) {
    auto decoded = base64_decode(data);
    if (!decoded) {
      return fail(std::string(data_key) + ": " + decoded.error().message);
    }
    return *decoded;
  }
  if (auto file = scalar(node, file_key); !file.empty()) {
    return read_file(relative_to(dir, file));
  }
  return std::string();
}

Result<ExecConfig> parse_exec(const YAML::Node& node, const fs::path& dir) {
  ExecConfig exec;
  exec.api_version = scalar(node, "apiVersion");
  exec.command = scalar(node, "command");
  if (exec.command.empty()) {
    return fail("exec: missing command");
  }
  if (exec.api_version != "client.authentication.k8s.io/v1" &&
      exec.api_version != "client.authentication.k8s.io/v1beta1") {
    return fail("exec: unsupported apiVersion \"" + exec.api_version +
                "\" (want client.authentication.k8s.io/v1 or v1beta1)");
  }
  // A command with a slash but not absolute is relative to the kubeconfig, as in client-go.
  if (exec.command.find('/') != std::string::npos && !fs::path(exec.command).is_absolute()) {
    exec.command = (dir / exec.command).lexically_normal().string();
  }
  if (const auto args = node["args"]; args && args.IsSequence()) {
    for (const auto& a : args) {
      exec.args.push_back(a.as<std::string>());
    }
  }
  if (const auto env = node["env"]; env && env.IsSequence()) {
    for (const auto& e : env) {
      exec.env.emplace_back(scalar(e, "name"), scalar(e, "value"));
    }
  }
  exec.working_dir = dir;
  return exec;
}

Result<ClusterConfig> parse_kubeconfig(const YAML::Node& root, const fs::path& path,
                                       const std::string& wanted_context) {
  const fs::path dir = path.parent_path();
  const std::string context_name = wanted_context.empty() ? scalar(root, "current-context") : wanted_context;
  if (context_name.empty()) {
    return fail(path.string() + ": no current-context and no --context given");
  }
  const auto context_entry = named_entry(root["contexts"], context_name, "context");
  if (!context_entry) {
    return fail(path.string() + ": context \"" + context_name + "\" not found");
  }
  const YAML::Node& context = *context_entry;
  const std::string cluster_name = scalar(context, "cluster");
  const auto cluster_entry = named_entry(root["clusters"], cluster_name, "cluster");
  if (!cluster_entry) {
    return fail(path.string() + ": cluster \"" + cluster_name + "\" of context \"" + context_name + "\" not found");
  }
  const YAML::Node& cluster = *cluster_entry;
  ClusterConfig config;
  config.source = "kubeconfig " + path.string() + " context " + context_name;
  config.server = scalar(cluster, "server");
  if (config.server.rfind("https://", 0) != 0 && config.server.rfind("http://", 0) != 0) {
    return fail(path.string() + ": cluster \"" + cluster_name + "\" server \"" + config.server +
                "\" is not an http(s) URL");
  }
  while (!config.server.empty() && config.server.back() == '/') {
    config.server.pop_back();
  }
  config.insecure_skip_tls_verify = scalar(cluster, "insecure-skip-tls-verify") == "true";
  config.tls_server_name = scalar(cluster, "tls-server-name");
  auto ca = pem_from(cluster, "certificate-authority", "certificate-authority-data", dir);
  if (!ca) {
    return fail(path.string() + ": cluster \"" + cluster_name + "\": " + ca.error().message);
  }
  config.ca_pem = std::move(*ca);
  if (auto ns = scalar(context, "namespace"); !ns.empty()) {
    config.namespace_name = ns;
  }

  const std::string user_name = scalar(context, "user");
  if (!user_name.empty()) {
    const auto user_entry = named_entry(root["users"], user_name, "user");
    if (!user_entry) {
      return fail(path.string() + ": user \"" + user_name + "\" of context \"" + context_name + "\" not found");
    }
    const YAML::Node& user = *user_entry;
    auto cert = pem_from(user, "client-certificate", "client-certificate-data", dir);
    auto key = pem_from(user, "client-key", "client-key-data", dir);
    if (!cert || !key) {
      return fail(path.string() + ": user \"" + user_name + "\": " + (!cert ? cert.error() : key.error()).message);
    }
    config.client_cert_pem = std::move(*cert);
    config.client_key_pem = std::move(*key);
    if (config.client_cert_pem.empty() != config.client_key_pem.empty()) {
      return fail(path.string() + ": user \"" + user_name + "\" has a client certificate without a key or the reverse");
    }
    config.token = scalar(user, "token");
    if (auto file = scalar(user, "tokenFile"); !file.empty()) {
      config.token_file = relative_to(dir, file);
    }
    if (const auto exec = user["exec"]; exec && exec.IsMap()) {
      auto parsed = parse_exec(exec, dir);
      if (!parsed) {
        return fail(path.string() + ": user \"" + user_name + "\": " + parsed.error().message);
      }
      config.exec = std::move(*parsed);
    }
    if (user["auth-provider"]) {
      return fail(path.string() + ": user \"" + user_name +
                  "\" uses auth-provider, which Kubernetes removed; use an exec plugin");
    }
  }
  return config;
}

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::nullopt : std::optional<std::string>(v);
}

}  // namespace

ConfigRequest ConfigRequest::from_environment(std::string kubeconfig_flag, std::string context) {
  ConfigRequest r;
  r.kubeconfig_flag = std::move(kubeconfig_flag);
  r.context = std::move(context);
  r.kubeconfig_env = env("KUBECONFIG");
  r.home = env("HOME");
  r.service_host = env("KUBERNETES_SERVICE_HOST");
  r.service_port = env("KUBERNETES_SERVICE_PORT");
  return r;
}

Result<ClusterConfig> load_kubeconfig(const fs::path& path, const std::string& context) {
  auto text = read_file(path);
  if (!text) {
    return fail("kubeconfig: " + text.error().message);
  }
  YAML::Node root;
  try {
    root = YAML::Load(*text);
  } catch (const YAML::Exception& e) {
    return fail("kubeconfig " + path.string() + ": invalid YAML: " + e.what());
  }
  if (!root.IsMap()) {
    return fail("kubeconfig " + path.string() + ": not a YAML mapping");
  }
  try {
    return parse_kubeconfig(root, path, context);
  } catch (const YAML::Exception& e) {
    return fail("kubeconfig " + path.string() + ": unexpected shape: " + e.what());
  }
}

Result<ClusterConfig> load_in_cluster(const std::string& host, const std::string& port, const InClusterPaths& paths) {
  ClusterConfig config;
  config.source = "in-cluster service account";
  const bool ipv6 = host.find(':') != std::string::npos;
  config.server = "https://" + (ipv6 ? "[" + host + "]" : host) + ":" + port;
  auto ca = read_file(paths.ca);
  if (!ca) {
    return fail("in-cluster: " + ca.error().message);
  }
  config.ca_pem = std::move(*ca);
  if (!fs::exists(paths.token)) {
    return fail("in-cluster: no service account token at " + paths.token.string());
  }
  config.token_file = paths.token;
  if (auto ns = read_file(paths.namespace_file); ns && !ns->empty()) {
    config.namespace_name = *ns;
  }
  return config;
}

Result<ClusterConfig> resolve_cluster_config(const ConfigRequest& request) {
  if (!request.kubeconfig_flag.empty()) {
    return load_kubeconfig(request.kubeconfig_flag, request.context);
  }
  if (request.kubeconfig_env && !request.kubeconfig_env->empty()) {
    // $KUBECONFIG may list several files; like kubectl, the first one that exists is used here
    // (nodepack does not merge kubeconfigs).
    std::stringstream list(*request.kubeconfig_env);
    std::string item;
    while (std::getline(list, item, ':')) {
      if (!item.empty() && fs::exists(item)) {
        return load_kubeconfig(item, request.context);
      }
    }
  }
  if (request.home) {
    const fs::path home_config = fs::path(*request.home) / ".kube" / "config";
    if (fs::exists(home_config)) {
      return load_kubeconfig(home_config, request.context);
    }
  }
  if (request.service_host && request.service_port) {
    return load_in_cluster(*request.service_host, *request.service_port, request.in_cluster);
  }
  return fail(
      "no Kubernetes configuration: pass --kubeconfig, set $KUBECONFIG, create ~/.kube/config, or run in a pod");
}

Result<std::string> base64_decode(std::string_view text) {
  static constexpr auto decode_char = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=' || c == '\n' || c == '\r' || c == ' ') {
      continue;
    }
    const int v = decode_char(c);
    if (v < 0) {
      return fail("invalid base64");
    }
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

}  // namespace nodepack::kube
