#pragma once

// What a password for an unknown user name is checked against. A login for a name that does not
// exist must cost what a login for one that does costs, or a stopwatch tells which names exist; so
// it is checked against the hash of a configured user whose method and cost are the dearest in
// the file (a users file may mix sha512-crypt at ~5 ms with bcrypt-12 at ~230 ms). Which is
// dearest is measured, once per setting (method and cost), not guessed from the parameters: the
// methods' relative costs depend on the CPU.

#include "aggregator/auth/credential_files.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace nodepack::auth {

// The part of a crypt(3) hash that decides its cost: the method and its parameters, without the
// salt and the checksum ("$2b$12$", "$y$j9T$", "$6$rounds=10000$", "$6$").
std::string hash_setting(std::string_view hash);

// How long one password check against `hash` takes.
using HashCost = std::function<std::chrono::nanoseconds(const std::string& hash)>;
// The CPU time a check of a random password against `hash` takes (the less of two runs, so that a
// cold cache does not make a cheap method look dear). CPU time, not wall time: a busy machine
// slows every method alike, and must not make a cheap one look dear.
std::chrono::nanoseconds measure_hash_cost(const std::string& hash);

class DummyHashChooser {
 public:
  explicit DummyHashChooser(HashCost cost = measure_hash_cost) : cost_(std::move(cost)) {}

  // The hash of one of `users` whose setting costs the most; "" when there are none. A setting
  // measured for the previous version of the file is not measured again, so a reload that brings
  // no new kind of hash runs no hash at all.
  std::string choose(const std::vector<UserEntry>& users);

 private:
  HashCost cost_;
  std::unordered_map<std::string, std::chrono::nanoseconds> cost_by_setting_;
};

}  // namespace nodepack::auth
