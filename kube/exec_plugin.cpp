#include "kube/exec_plugin.hpp"

#include "common/duration.hpp"
#include "common/rfc3339.hpp"

#include <boost/json/parse.hpp>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <vector>

extern char** environ;

namespace nodepack::kube {
namespace {

// An ExecCredential is a few KiB; a plugin that writes more than this is broken, not slow.
constexpr std::size_t max_output = 1024 * 1024;
// Once stdout is closed only the exit is left to wait for; plugins exit right after, so a short
// poll costs a few wake-ups per run (a pidfd would need a kernel and a seccomp profile that allow it).
constexpr std::chrono::milliseconds exit_poll{10};

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

struct Child {
  pid_t pid = 0;
  int stdout_fd = -1;  // -1 once the plugin has closed its end
};

Result<Child> spawn_plugin(const ExecConfig& exec) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) {
    return fail(std::string("exec plugin: pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);

  // A group of its own, so a timeout kills whatever the plugin started too. The agent blocks
  // SIGINT and SIGTERM in every thread (they are taken by sigwait); the plugin must not inherit
  // that, nor an ignored SIGPIPE.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigdefault(&attr, &defaults);

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

  Child child;
  const int rc = posix_spawnp(&child.pid, exec.command.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(pipefd[1]);
  if (rc != 0) {
    close(pipefd[0]);
    return fail("exec plugin " + exec.command + ": cannot start: " + std::strerror(rc));
  }
  child.stdout_fd = pipefd[0];
  return child;
}

enum class Outcome { exited, timed_out, cancelled, too_much_output, failed };

// Reads the plugin's stdout until it is closed, then waits for the exit, both before `deadline`.
Outcome wait_for_plugin(Child& child, std::chrono::steady_clock::time_point deadline, int cancel_fd,
                        std::string& output, int& status) {
  char buf[4096];
  for (;;) {
    if (child.stdout_fd < 0) {
      const pid_t reaped = waitpid(child.pid, &status, WNOHANG);
      if (reaped == child.pid) {
        return Outcome::exited;
      }
      if (reaped < 0 && errno != EINTR) {
        return Outcome::failed;
      }
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return Outcome::timed_out;
    }
    pollfd fds[2];
    nfds_t count = 0;
    const nfds_t out_slot = count;
    if (child.stdout_fd >= 0) {
      fds[count++] = pollfd{child.stdout_fd, POLLIN, 0};
    }
    const nfds_t cancel_slot = count;
    if (cancel_fd >= 0) {
      fds[count++] = pollfd{cancel_fd, POLLIN, 0};
    }
    const auto wait = child.stdout_fd >= 0 ? left : std::min(left, exit_poll);
    const int ready = poll(fds, count, static_cast<int>(wait.count()));
    if (ready < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Outcome::failed;
    }
    if (cancel_fd >= 0 && fds[cancel_slot].revents != 0) {
      return Outcome::cancelled;
    }
    if (child.stdout_fd >= 0 && fds[out_slot].revents != 0) {
      const ssize_t got = read(child.stdout_fd, buf, sizeof buf);
      if (got < 0 && errno == EINTR) {
        continue;
      }
      if (got <= 0) {
        close(child.stdout_fd);
        child.stdout_fd = -1;
        continue;
      }
      output.append(buf, static_cast<std::size_t>(got));
      if (output.size() > max_output) {
        return Outcome::too_much_output;
      }
    }
  }
}

}  // namespace

Result<ExecCredential> run_exec_plugin(const ExecConfig& exec, std::chrono::milliseconds timeout, int cancel_fd) {
  auto child = spawn_plugin(exec);
  if (!child) {
    return child.error();
  }
  std::string output;
  int status = 0;
  const auto outcome = wait_for_plugin(*child, std::chrono::steady_clock::now() + timeout, cancel_fd, output, status);
  const int wait_errno = errno;
  if (child->stdout_fd >= 0) {
    close(child->stdout_fd);
  }
  if (outcome != Outcome::exited) {
    // The leader is not reaped yet, so its pid still names the group: nothing else can own it.
    kill(-child->pid, SIGKILL);
    while (waitpid(child->pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  const std::string who = "exec plugin " + exec.command;
  switch (outcome) {
    case Outcome::exited:
      break;
    case Outcome::timed_out:
      return fail(who + ": timed out after " + format_go_duration(timeout) + "; killed its process group");
    case Outcome::cancelled:
      return fail(who + ": stopped: its client is shutting down");
    case Outcome::too_much_output:
      return fail(who + ": wrote more than " + std::to_string(max_output) + " bytes; killed its process group");
    case Outcome::failed:
      return fail(who + ": waiting for it failed: " + std::strerror(wait_errno) + "; killed its process group");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return fail(who + ": exited with status " +
                std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)));
  }
  return parse_exec_output(output, exec.command);
}

}  // namespace nodepack::kube
