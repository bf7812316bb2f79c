#include "kube/credentials.hpp"

#include "common/rfc3339.hpp"
#include "common/strings.hpp"

#include <spdlog/spdlog.h>
#include <boost/json/parse.hpp>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

extern char** environ;

namespace nodepack::kube {
namespace {

// Tokens this close to expiry are refreshed early so a request does not race the expiry.
constexpr std::chrono::seconds expiry_margin{10};

Result<ExecCredential> parse_exec_output(const std::string& output, const std::string& command) {
  boost::system::error_code ec;
  const auto json = boost::json::parse(output, ec);
  if (ec || !json.is_object()) {
    return fail("exec plugin " + command + ": output is not a JSON ExecCredential");
  }
  const auto* status = json.as_object().if_contains("status");
  if (status == nullptr || !status->is_object()) {
    return fail("exec plugin " + command + ": ExecCredential has no status");
  }
  ExecCredential cred;
  if (const auto* token = status->as_object().if_contains("token"); token != nullptr && token->is_string()) {
    cred.token = std::string(token->get_string());
  }
  if (cred.token.empty()) {
    return fail("exec plugin " + command +
                ": ExecCredential status has no token (client certificates from exec "
                "plugins are not supported)");
  }
  if (const auto* exp = status->as_object().if_contains("expirationTimestamp"); exp != nullptr && exp->is_string()) {
    cred.expires = parse_rfc3339(std::string(exp->get_string()));
    if (!cred.expires) {
      return fail("exec plugin " + command + ": bad expirationTimestamp");
    }
  }
  return cred;
}

}  // namespace

Result<ExecCredential> run_exec_plugin(const ExecConfig& exec, std::chrono::milliseconds timeout) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) {
    return fail(std::string("exec plugin: pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);

  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) {
    env_storage.emplace_back(*e);
  }
  for (const auto& [k, v] : exec.env) {
    env_storage.push_back(k + "=" + v);
  }
  env_storage.push_back("KUBERNETES_EXEC_INFO={\"apiVersion\":\"" + exec.api_version +
                        "\",\"kind\":\"ExecCredential\",\"spec\":{\"interactive\":false}}");
  std::vector<char*> envp;
  for (auto& e : env_storage) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);
  std::vector<std::string> argv_storage{exec.command};
  argv_storage.insert(argv_storage.end(), exec.args.begin(), exec.args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);

  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, exec.command.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(pipefd[1]);
  if (rc != 0) {
    close(pipefd[0]);
    return fail("exec plugin " + exec.command + ": cannot start: " + std::strerror(rc));
  }

  std::string output;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  char buf[4096];
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{pipefd[0], POLLIN, 0};
    const int n = poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      timed_out = n == 0;
      break;
    }
    const ssize_t got = read(pipefd[0], buf, sizeof buf);
    if (got <= 0) {
      break;
    }
    output.append(buf, static_cast<std::size_t>(got));
    if (output.size() > 1024 * 1024) {
      break;
    }
  }
  close(pipefd[0]);
  if (timed_out) {
    kill(pid, SIGKILL);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return fail("exec plugin " + exec.command + ": timed out after " + std::to_string(timeout.count()) + " ms");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return fail("exec plugin " + exec.command + ": exited with status " +
                std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)));
  }
  return parse_exec_output(output, exec.command);
}

CredentialProvider::CredentialProvider(const ClusterConfig& config, const Clock& clock)
    : clock_(clock), static_token_(config.token), token_file_(config.token_file), exec_(config.exec) {}

Result<std::string> CredentialProvider::authorization() {
  std::lock_guard lock(mutex_);
  if (exec_) {
    auto token = token_from_exec();
    if (!token) {
      return token.error();
    }
    return "Bearer " + *token;
  }
  if (!token_file_.empty()) {
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

Result<std::string> CredentialProvider::token_from_exec() {
  if (exec_cached_ && (!exec_cached_->expires || clock_.now() + expiry_margin < *exec_cached_->expires)) {
    return exec_cached_->token;
  }
  ++exec_runs_;
  auto cred = run_exec_plugin(*exec_, std::chrono::seconds(30));
  if (!cred) {
    spdlog::error("{}", cred.error().message);
    return cred.error();
  }
  spdlog::info("exec plugin {} returned a token{}", exec_->command,
               cred->expires ? " valid until " + format_rfc3339(*cred->expires) : std::string(" without expiry"));
  exec_cached_ = std::move(*cred);
  return exec_cached_->token;
}

void CredentialProvider::invalidate() {
  std::lock_guard lock(mutex_);
  exec_cached_.reset();
  file_mtime_ = {};
  file_token_.clear();
}

int CredentialProvider::exec_runs() const {
  std::lock_guard lock(mutex_);
  return exec_runs_;
}

}  // namespace nodepack::kube
