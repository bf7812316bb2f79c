#pragma once

// Hands an authentication decided asynchronously to code that asks for it synchronously.
//
// The usage API (aggregator/billing) authenticates through a synchronous function at the start of
// each handler. Called as it is, that would hash a Basic or X-PASSWORD password on the serving
// thread and hold up every other request, /healthz and /metrics included, for the length of the
// hash. Its routes are therefore wrapped: the wrapper awaits Authenticator::authenticate_async (the
// hash runs on the hashing pool), parks the result under the request's address, and runs the
// handler, whose synchronous function takes the parked result instead of checking again.

#include "aggregator/auth/authenticator.hpp"
#include "http/server.hpp"

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <mutex>
#include <unordered_map>
#include <variant>

namespace nodepack::auth {

class AuthHandoff {
 public:
  explicit AuthHandoff(Authenticator& auth) : auth_(auth) {}

  // `inner` behind an asynchronous authentication whose result `authenticate` hands over.
  http::AsyncHandler wrap(http::AsyncHandler inner);

  // For the wrapped handler: the result parked for `request`. Without one (a route that was not
  // wrapped) it checks on the calling thread, which is right but holds that thread for a hash.
  std::variant<Principal, http::Response> authenticate(const http::Request& request, const http::RequestInfo& info);

  std::size_t parked() const;

 private:
  boost::asio::awaitable<http::Reply> run(std::shared_ptr<const http::AsyncHandler> inner, const http::Request& request,
                                          http::RequestInfo info);

  Authenticator& auth_;
  mutable std::mutex mutex_;
  // Keyed by the request object: it stays put while its handler runs, and no two requests in
  // flight share one.
  std::unordered_map<const http::Request*, std::variant<Principal, http::Response>> parked_;
};

}  // namespace nodepack::auth
