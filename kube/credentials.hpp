#pragma once

// Supplies the Authorization header for API requests: a static token, a token file that is
// re-read when it changes (bound service account tokens rotate hourly), or an exec credential
// plugin whose token is cached until it expires and fetched again after a 401.

#include "common/clock.hpp"
#include "common/result.hpp"
#include "kube/kubeconfig.hpp"

#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>

namespace nodepack::kube {

// Runs an exec plugin once and returns its ExecCredential status.
struct ExecCredential {
  std::string token;
  std::optional<std::chrono::system_clock::time_point> expires;
};
Result<ExecCredential> run_exec_plugin(const ExecConfig& exec, std::chrono::milliseconds timeout);

class CredentialProvider {
 public:
  CredentialProvider(const ClusterConfig& config, const Clock& clock);

  // "Bearer ..." or "" when the cluster uses client certificates or no auth.
  Result<std::string> authorization();
  // After a 401: forget cached exec tokens and re-read token files on the next request.
  void invalidate();
  int exec_runs() const;

 private:
  Result<std::string> token_from_file();
  Result<std::string> token_from_exec();

  const Clock& clock_;
  std::string static_token_;
  std::filesystem::path token_file_;
  std::optional<ExecConfig> exec_;

  mutable std::mutex mutex_;
  std::string file_token_;
  std::filesystem::file_time_type file_mtime_{};
  std::optional<ExecCredential> exec_cached_;
  int exec_runs_ = 0;
};

}  // namespace nodepack::kube
