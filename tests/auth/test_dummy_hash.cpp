// What unknown user names are checked against: the setting (method and cost) of a hash, the choice
// of the dearest setting in a users file (with a stand-in cost, then measured for real), and that
// each setting is measured once however often the file is re-read.

#include "aggregator/auth/dummy_hash.hpp"
#include "aggregator/auth/secrets.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace nodepack::auth;
using namespace std::chrono_literals;

TEST_CASE("the setting of a hash is its method and cost, without salt and checksum") {
  CHECK(hash_setting(hash_password("pw", "$2b$", 5).value()) == "$2b$05$");
  CHECK(hash_setting("$2y$12$" + std::string(53, 'a')) == "$2y$12$");
  CHECK(hash_setting("$y$j9T$F5Jx5fExrKuPp53xLKQ..1$zwtVrjrUCmXcyLTs6oxLTQlzifSUkF8RHJ./tK5KU79") == "$y$j9T$");
  CHECK(hash_setting("$gy$j9T$salt$checksum") == "$gy$j9T$");
  CHECK(hash_setting("$6$abcdefgh$" + std::string(86, 'x')) == "$6$");
  CHECK(hash_setting("$6$rounds=10000$abcdefgh$" + std::string(86, 'x')) == "$6$rounds=10000$");
  CHECK(hash_setting("$5$rounds=5000$salt$" + std::string(43, 'x')) == "$5$rounds=5000$");
  // scrypt runs N, r and p into the salt; they are the first eleven characters after "$7$".
  CHECK(hash_setting("$7$CU..../....saltsalt$" + std::string(43, 'x')) == "$7$CU..../....");
  // Two hashes of one setting share it; another cost is another setting.
  CHECK(hash_setting(hash_password("a", "$2b$", 5).value()) == hash_setting(hash_password("b", "$2b$", 5).value()));
  CHECK(hash_setting(hash_password("a", "$6$").value()) == "$6$");
  CHECK(hash_setting(hash_password("a", "$y$").value()).starts_with("$y$j"));
}

TEST_CASE("the chooser picks a hash of the dearest setting, measuring each setting once") {
  // Stand-in costs by setting; the order in the file must not matter.
  const std::map<std::string, std::chrono::nanoseconds> costs{{"$6$", 1ms}, {"$2b$10$", 50ms}, {"$y$j9T$", 20ms}};
  std::vector<std::string> measured;
  DummyHashChooser chooser([&](const std::string& hash) {
    measured.push_back(hash_setting(hash));
    return costs.at(hash_setting(hash));
  });
  const std::string sha = "$6$saltsalt$" + std::string(86, 'x');
  const std::string sha2 = "$6$othersalt$" + std::string(86, 'y');
  const std::string bcrypt = "$2b$10$" + std::string(53, 'b');
  const std::string yes = "$y$j9T$salt$" + std::string(43, 'y');
  const auto users = [](std::vector<std::string> hashes) {
    std::vector<UserEntry> out;
    for (auto& h : hashes) {
      out.push_back(UserEntry{"u" + std::to_string(out.size()), std::move(h), {}});
    }
    return out;
  };

  CHECK(chooser.choose(users({sha, sha2, bcrypt, yes})) == bcrypt);
  CHECK(measured == std::vector<std::string>{"$6$", "$2b$10$", "$y$j9T$"});  // sha2 shares sha's setting

  // Re-read without a new kind of hash: nothing measured again.
  measured.clear();
  CHECK(chooser.choose(users({yes, sha2})) == yes);
  CHECK(measured.empty());
  // The bcrypt user came back after a version without one: measured again (only the current
  // file's settings are remembered).
  CHECK(chooser.choose(users({sha, bcrypt})) == bcrypt);
  CHECK(measured == std::vector<std::string>{"$2b$10$"});
  CHECK(chooser.choose({}).empty());
}

TEST_CASE("measured for real, bcrypt-10 is dearer than sha512-crypt wherever it comes in the file") {
  // sha512-crypt at its default 5000 rounds takes ~1-3 ms of CPU, bcrypt at cost 10 ~50 ms: the
  // measurement (CPU time, the less of two runs) cannot confuse them.
  const auto sha = hash_password("a", "$6$").value();
  const auto bcrypt = hash_password("b", "$2b$", 10).value();
  DummyHashChooser chooser;
  CHECK(chooser.choose({UserEntry{"fast", sha, {}}, UserEntry{"slow", bcrypt, {}}}) == bcrypt);
  DummyHashChooser reversed;
  CHECK(reversed.choose({UserEntry{"slow", bcrypt, {}}, UserEntry{"fast", sha, {}}}) == bcrypt);
}
