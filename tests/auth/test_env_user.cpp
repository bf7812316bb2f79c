// Kube-App's API_USERNAME / API_PASSWORD: one user, the password hashed at start and gone from
// the environment afterwards.
#include "aggregator/auth/env_user.hpp"
#include "aggregator/auth/secrets.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>

using namespace nodepack::auth;

TEST_CASE("API_USERNAME and API_PASSWORD make one user with a yescrypt hash of the password") {
  auto user = user_from_variables("billing", "s3cret-pw").value();
  REQUIRE(user.has_value());
  CHECK(user->name == "billing");
  CHECK(user->namespaces.empty());  // every namespace, as Kube-App's one user had
  CHECK(user->hash.starts_with("$y$"));
  CHECK(user->hash.find("s3cret-pw") == std::string::npos);
  CHECK(verify_password("s3cret-pw", user->hash));
  CHECK_FALSE(verify_password("s3cret-pX", user->hash));
}

TEST_CASE("API_USERNAME and API_PASSWORD go together, and the name follows the users file's rules") {
  CHECK_FALSE(user_from_variables(nullptr, "").value().has_value());
  CHECK_FALSE(user_from_variables("", "").value().has_value());
  CHECK(user_from_variables(nullptr, "pw").error().message ==
        "API_PASSWORD is set but API_USERNAME is not: set both (Kube-App's one user) or neither");
  CHECK(user_from_variables("billing", "").error().message ==
        "API_USERNAME is set but API_PASSWORD is empty: set both (Kube-App's one user) or neither");
  auto bad = user_from_variables("bill ing", "hidden-pw");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message.find("bad user name \"bill ing\"") != std::string::npos);
  CHECK(bad.error().message.find("hidden-pw") == std::string::npos);
}

TEST_CASE("user_from_environment reads both and removes API_PASSWORD from the environment") {
  ::setenv("API_USERNAME", "kubeapp", 1);
  ::setenv("API_PASSWORD", "from-env-pw", 1);
  auto user = user_from_environment().value();
  CHECK(std::getenv("API_PASSWORD") == nullptr);  // child processes (exec plugins) never see it
  ::unsetenv("API_USERNAME");
  REQUIRE(user.has_value());
  CHECK(user->name == "kubeapp");
  CHECK(verify_password("from-env-pw", user->hash));
  CHECK_FALSE(user_from_environment().value().has_value());
}
