#pragma once

// Supplies the Authorization header for API requests: a static token, a token file that is
// re-read when it changes (bound service account tokens rotate hourly), or an exec credential
// plugin whose token is cached until it expires and fetched again after a 401.

#include "common/clock.hpp"
#include "common/result.hpp"
#include "kube/exec_token_source.hpp"
#include "kube/kubeconfig.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

namespace nodepack::kube {

// How long one exec plugin run may take before its process group is killed. kubectl waits
// forever; an agent must not, and a plugin that needs longer than this is hung, not slow.
inline constexpr std::chrono::milliseconds default_exec_timeout{30'000};

class CredentialProvider {
 public:
  CredentialProvider(const ClusterConfig& config, const Clock& clock,
                     std::chrono::milliseconds exec_timeout = default_exec_timeout);

  // "Bearer ..." or "" when the cluster uses client certificates or no auth. An exec plugin runs
  // off the caller's thread while the coroutine waits for it (see ExecTokenSource).
  boost::asio::awaitable<Result<std::string>> async_authorization();
  // The same for callers that cannot wait asynchronously (a static token or a token file). With an
  // exec plugin it is an error: waiting for the plugin would block the calling thread.
  Result<std::string> authorization();
  // After a 401: forget cached exec tokens and re-read token files on the next request.
  void invalidate();
  int exec_runs() const;

 private:
  Result<std::string> token_from_file();

  std::string static_token_;
  std::filesystem::path token_file_;
  std::unique_ptr<ExecTokenSource> exec_;

  std::mutex mutex_;  // the token file's state
  std::string file_token_;
  std::filesystem::file_time_type file_mtime_{};
};

}  // namespace nodepack::kube
