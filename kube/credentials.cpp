#include "kube/credentials.hpp"

#include "common/strings.hpp"

#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

namespace nodepack::kube {

CredentialProvider::CredentialProvider(const ClusterConfig& config, const Clock& clock,
                                       std::chrono::milliseconds exec_timeout)
    : static_token_(config.token), token_file_(config.token_file) {
  if (config.exec) {
    exec_ = std::make_unique<ExecTokenSource>(*config.exec, clock, exec_timeout);
  }
}

boost::asio::awaitable<Result<std::string>> CredentialProvider::async_authorization() {
  if (exec_) {
    auto token = co_await exec_->token();
    if (!token) {
      co_return token.error();
    }
    co_return "Bearer " + *token;
  }
  co_return authorization();
}

Result<std::string> CredentialProvider::authorization() {
  if (exec_) {
    return fail("an exec credential plugin's token must be awaited (async_authorization)");
  }
  if (!token_file_.empty()) {
    std::lock_guard lock(mutex_);
    auto token = token_from_file();
    if (!token) {
      return token.error();
    }
    return "Bearer " + *token;
  }
  if (!static_token_.empty()) {
    return "Bearer " + static_token_;
  }
  return std::string();
}

Result<std::string> CredentialProvider::token_from_file() {
  std::error_code ec;
  const auto mtime = std::filesystem::last_write_time(token_file_, ec);
  if (ec) {
    if (!file_token_.empty()) {
      return file_token_;  // keep the last token while the file is being replaced
    }
    return fail("token file " + token_file_.string() + ": " + ec.message());
  }
  if (file_token_.empty() || mtime != file_mtime_) {
    std::ifstream in(token_file_);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string token(trim(ss.str()));
    if (token.empty()) {
      if (!file_token_.empty()) {
        return file_token_;
      }
      return fail("token file " + token_file_.string() + " is empty");
    }
    if (!file_token_.empty() && token != file_token_) {
      spdlog::info("token file {} changed; using the new token", token_file_.string());
    }
    file_token_ = std::move(token);
    file_mtime_ = mtime;
  }
  return file_token_;
}

void CredentialProvider::invalidate() {
  if (exec_) {
    exec_->invalidate();
  }
  std::lock_guard lock(mutex_);
  file_mtime_ = {};
  file_token_.clear();
}

int CredentialProvider::exec_runs() const { return exec_ ? exec_->runs() : 0; }

}  // namespace nodepack::kube
