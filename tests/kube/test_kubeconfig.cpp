#include "kube/kubeconfig.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

using namespace nodepack::kube;
using nodepack::testing::TempDir;

namespace {

// base64("-----BEGIN CERTIFICATE-----\nCA\n") and friends: content is not validated here, only
// carried through; the client's TLS setup validates it.
constexpr const char* two_contexts = R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev-cluster
  cluster:
    server: https://10.0.0.1:6443/
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNBCg==
    tls-server-name: api.dev.internal
- name: prod-cluster
  cluster:
    server: https://prod.example:443
    insecure-skip-tls-verify: true
contexts:
- name: dev
  context: {cluster: dev-cluster, user: dev-user, namespace: tools}
- name: prod
  context: {cluster: prod-cluster, user: prod-user}
users:
- name: dev-user
  user:
    token: abc123
    client-certificate: certs/client.crt
    client-key: certs/client.key
- name: prod-user
  user:
    tokenFile: token
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./get-token
      args: ["--cluster", "prod"]
      env: [{name: REGION, value: eu-1}]
)";

}  // namespace

TEST_CASE("kubeconfig: current context with CA data, relative client cert files and a token") {
  TempDir dir;
  const auto path = dir.write("config", two_contexts);
  dir.write("certs/client.crt", "CERT");
  dir.write("certs/client.key", "KEY");
  auto config = load_kubeconfig(path, "");
  REQUIRE(config.has_value());
  CHECK(config->server == "https://10.0.0.1:6443");
  CHECK(config->ca_pem == "-----BEGIN CERTIFICATE-----\nCA\n");
  CHECK(config->tls_server_name == "api.dev.internal");
  CHECK_FALSE(config->insecure_skip_tls_verify);
  CHECK(config->client_cert_pem == "CERT");
  CHECK(config->client_key_pem == "KEY");
  CHECK(config->token == "abc123");
  CHECK(config->namespace_name == "tools");
  CHECK(config->source == "kubeconfig " + path.string() + " context dev");
  CHECK_FALSE(config->exec);
}

TEST_CASE("kubeconfig: --context picks another context with exec plugin and token file") {
  TempDir dir;
  const auto path = dir.write("config", two_contexts);
  auto config = load_kubeconfig(path, "prod");
  REQUIRE(config.has_value());
  CHECK(config->server == "https://prod.example:443");
  CHECK(config->insecure_skip_tls_verify);
  CHECK(config->token_file == dir.path() / "token");
  REQUIRE(config->exec);
  CHECK(config->exec->command == (dir.path() / "get-token").string());
  CHECK(config->exec->args == std::vector<std::string>{"--cluster", "prod"});
  REQUIRE(config->exec->env.size() == 1);
  CHECK(config->exec->env[0] == std::pair<std::string, std::string>{"REGION", "eu-1"});
  CHECK(config->exec->api_version == "client.authentication.k8s.io/v1");
}

TEST_CASE("kubeconfig: errors name the file and what is wrong") {
  TempDir dir;
  const auto path = dir.write("config", two_contexts);
  auto missing_context = load_kubeconfig(path, "staging");
  REQUIRE_FALSE(missing_context.has_value());
  CHECK(missing_context.error().message == path.string() + ": context \"staging\" not found");

  auto missing_cert = load_kubeconfig(path, "dev");  // certs/ not written
  REQUIRE_FALSE(missing_cert.has_value());
  CHECK(missing_cert.error().message.find("cannot read " + (dir.path() / "certs/client.crt").string()) !=
        std::string::npos);

  const auto bad_yaml = dir.write("bad", "clusters: [unclosed");
  auto yaml = load_kubeconfig(bad_yaml, "");
  REQUIRE_FALSE(yaml.has_value());
  CHECK(yaml.error().message.find("invalid YAML") != std::string::npos);

  const auto bad_server = dir.write("bad-server", R"(current-context: c
clusters: [{name: k, cluster: {server: "ftp://x"}}]
contexts: [{name: c, context: {cluster: k}}]
)");
  auto server = load_kubeconfig(bad_server, "");
  REQUIRE_FALSE(server.has_value());
  CHECK(server.error().message.find("is not an http(s) URL") != std::string::npos);

  const auto bad_exec = dir.write("bad-exec", R"(current-context: c
clusters: [{name: k, cluster: {server: "https://x"}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: x}}}]
)");
  auto exec = load_kubeconfig(bad_exec, "");
  REQUIRE_FALSE(exec.has_value());
  CHECK(exec.error().message.find("unsupported apiVersion") != std::string::npos);

  auto nothing = load_kubeconfig(dir.path() / "absent", "");
  REQUIRE_FALSE(nothing.has_value());
  CHECK(nothing.error().message == "kubeconfig: cannot read " + (dir.path() / "absent").string());
}

TEST_CASE("config resolution order: flag, $KUBECONFIG, ~/.kube/config, in-cluster") {
  TempDir dir;
  const auto flag_config = dir.write("flag/config", R"(current-context: c
clusters: [{name: k, cluster: {server: "http://flag:1"}}]
contexts: [{name: c, context: {cluster: k}}]
)");
  const auto env_config = dir.write("env/config", R"(current-context: c
clusters: [{name: k, cluster: {server: "http://env:1"}}]
contexts: [{name: c, context: {cluster: k}}]
)");
  dir.write("home/.kube/config", R"(current-context: c
clusters: [{name: k, cluster: {server: "http://home:1"}}]
contexts: [{name: c, context: {cluster: k}}]
)");
  dir.write("sa/token", "sa-token\n");
  dir.write("sa/ca.crt", "CA");
  dir.write("sa/namespace", "monitoring");

  ConfigRequest request;
  request.kubeconfig_flag = flag_config.string();
  request.kubeconfig_env = (dir.path() / "missing").string() + ":" + env_config.string();
  request.home = (dir.path() / "home").string();
  request.service_host = "10.96.0.1";
  request.service_port = "443";
  request.in_cluster = {dir.path() / "sa/token", dir.path() / "sa/ca.crt", dir.path() / "sa/namespace"};

  CHECK(resolve_cluster_config(request)->server == "http://flag:1");
  request.kubeconfig_flag.clear();
  CHECK(resolve_cluster_config(request)->server == "http://env:1");  // first existing entry
  request.kubeconfig_env.reset();
  CHECK(resolve_cluster_config(request)->server == "http://home:1");
  request.home = (dir.path() / "nohome").string();
  auto in_cluster = resolve_cluster_config(request);
  REQUIRE(in_cluster.has_value());
  CHECK(in_cluster->server == "https://10.96.0.1:443");
  CHECK(in_cluster->ca_pem == "CA");
  CHECK(in_cluster->token_file == dir.path() / "sa/token");
  CHECK(in_cluster->namespace_name == "monitoring");
  request.service_host = "fd00::1";
  CHECK(resolve_cluster_config(request)->server == "https://[fd00::1]:443");
  request.service_host.reset();
  auto none = resolve_cluster_config(request);
  REQUIRE_FALSE(none.has_value());
  CHECK(none.error().message.find("no Kubernetes configuration") == 0);
}

TEST_CASE("base64 decoding accepts padding and rejects garbage") {
  CHECK(*base64_decode("aGVsbG8=") == "hello");
  CHECK(*base64_decode("aGVsbG8") == "hello");
  CHECK(*base64_decode("aGVs\nbG8=") == "hello");
  CHECK_FALSE(base64_decode("a$b=").has_value());
}
