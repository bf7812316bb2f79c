#include "aggregator/auth/handoff.hpp"

namespace nodepack::auth {

namespace {

// Removes a parked result the handler did not take (it answered before authenticating), so that
// nothing is left under an address a later request may reuse.
class Unpark {
 public:
  Unpark(std::mutex& mutex, std::unordered_map<const http::Request*, std::variant<Principal, http::Response>>& parked,
         const http::Request* request)
      : mutex_(mutex), parked_(parked), request_(request) {}
  ~Unpark() {
    std::lock_guard lock(mutex_);
    parked_.erase(request_);
  }
  Unpark(const Unpark&) = delete;
  Unpark& operator=(const Unpark&) = delete;

 private:
  std::mutex& mutex_;
  std::unordered_map<const http::Request*, std::variant<Principal, http::Response>>& parked_;
  const http::Request* request_;
};

}  // namespace

http::AsyncHandler AuthHandoff::wrap(http::AsyncHandler inner) {
  // Not a coroutine lambda: its captures would live in the router's copy of it, which the
  // coroutine would then depend on; run() takes what it needs as parameters instead.
  auto shared = std::make_shared<const http::AsyncHandler>(std::move(inner));
  return [this, shared](const http::Request& request, const http::RequestInfo& info) {
    return run(shared, request, info);
  };
}

boost::asio::awaitable<http::Reply> AuthHandoff::run(std::shared_ptr<const http::AsyncHandler> inner,
                                                     const http::Request& request, http::RequestInfo info) {
  auto who = co_await auth_.authenticate_async(request, info);
  {
    std::lock_guard lock(mutex_);
    parked_.insert_or_assign(&request, std::move(who));
  }
  const Unpark unpark(mutex_, parked_, &request);
  co_return co_await (*inner)(request, info);
}

std::variant<Principal, http::Response> AuthHandoff::authenticate(const http::Request& request,
                                                                  const http::RequestInfo& info) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = parked_.find(&request); it != parked_.end()) {
      auto who = std::move(it->second);
      parked_.erase(it);
      return who;
    }
  }
  return auth_.authenticate(request, info);
}

std::size_t AuthHandoff::parked() const {
  std::lock_guard lock(mutex_);
  return parked_.size();
}

}  // namespace nodepack::auth
