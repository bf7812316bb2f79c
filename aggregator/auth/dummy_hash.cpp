#include "aggregator/auth/dummy_hash.hpp"

#include "aggregator/auth/secrets.hpp"

#include <algorithm>

#include <time.h>

namespace nodepack::auth {

std::string hash_setting(std::string_view hash) {
  // bcrypt: "$2b$12$" then salt and checksum with no '$' between them.
  if (hash.starts_with("$2") && hash.size() >= 7) {
    return std::string(hash.substr(0, 7));
  }
  // scrypt: "$7$", then N (one character) and r and p (five each) run into the salt.
  if (hash.starts_with("$7$") && hash.size() >= 14) {
    return std::string(hash.substr(0, 14));
  }
  // Everything else ends in "$salt$checksum": yescrypt "$y$j9T$...", sha-crypt "$6$[rounds=N$]...".
  const auto checksum = hash.rfind('$');
  if (checksum == std::string_view::npos || checksum == 0) {
    return std::string(hash);
  }
  const auto salt = hash.rfind('$', checksum - 1);
  return std::string(hash.substr(0, salt == std::string_view::npos ? checksum : salt + 1));
}

namespace {

// CPU time of this thread: the work a check takes, whatever else the machine is doing.
std::chrono::nanoseconds thread_cpu_time() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

}  // namespace

std::chrono::nanoseconds measure_hash_cost(const std::string& hash) {
  const auto password = random_token();
  auto best = std::chrono::nanoseconds::max();
  for (int run = 0; run < 2; ++run) {
    const auto start = thread_cpu_time();
    verify_password(password, hash);
    best = std::min(best, thread_cpu_time() - start);
  }
  return best;
}

std::string DummyHashChooser::choose(const std::vector<UserEntry>& users) {
  // Only the current file's settings are kept, so the table cannot grow across many reloads.
  std::unordered_map<std::string, std::chrono::nanoseconds> costs;
  const std::string* dearest = nullptr;
  auto dearest_cost = std::chrono::nanoseconds::min();
  for (const auto& user : users) {
    auto setting = hash_setting(user.hash);
    auto known = costs.find(setting);
    if (known == costs.end()) {
      const auto before = cost_by_setting_.find(setting);
      const auto cost = before != cost_by_setting_.end() ? before->second : cost_(user.hash);
      known = costs.emplace(std::move(setting), cost).first;
    }
    if (known->second > dearest_cost) {
      dearest = &user.hash;
      dearest_cost = known->second;
    }
  }
  cost_by_setting_ = std::move(costs);
  return dearest == nullptr ? std::string() : *dearest;
}

}  // namespace nodepack::auth
