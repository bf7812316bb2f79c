#pragma once

// Kube-App's one-user configuration: API_USERNAME and API_PASSWORD in the environment. The
// password is hashed (yescrypt) once at start, the clear text wiped and API_PASSWORD removed from
// the environment, so neither logs, /debug pages nor child processes (a kubeconfig's exec
// plugin) can see it. The user may call the usage API and log in to the web UI, in every
// namespace, like a users-file line without a namespace list.

#include "aggregator/auth/credential_files.hpp"
#include "common/result.hpp"

#include <optional>
#include <string>

namespace nodepack::auth {

// Both unset: nullopt. One without the other, an empty password, or a user name a users file
// could not hold: an error saying which.
Result<std::optional<UserEntry>> user_from_variables(const char* username, std::string password);

// user_from_variables over $API_USERNAME and $API_PASSWORD; unsets API_PASSWORD.
Result<std::optional<UserEntry>> user_from_environment();

}  // namespace nodepack::auth
