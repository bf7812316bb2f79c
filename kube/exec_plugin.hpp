#pragma once

// Runs a client.authentication.k8s.io exec credential plugin once, blocking the calling thread:
// the caller (CredentialProvider) keeps it off the io thread. Bounded in time like everything else
// the agent waits for: kubectl waits for a plugin forever, but a hung plugin must not hang the
// agent's API access forever.

#include "common/result.hpp"
#include "kube/kubeconfig.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace nodepack::kube {

struct ExecCredential {
  std::string token;
  std::optional<std::chrono::system_clock::time_point> expires;
};

// Starts the plugin in a process group of its own and waits until it has closed its stdout and
// exited. After `timeout`, or as soon as `cancel_fd` (if not -1) becomes readable, the whole group
// is killed (the plugin and anything it started) and the result is an error naming the plugin and
// why. The plugin's stderr is the agent's, so its complaints reach the agent's log.
Result<ExecCredential> run_exec_plugin(const ExecConfig& exec, std::chrono::milliseconds timeout, int cancel_fd = -1);

}  // namespace nodepack::kube
