#pragma once

// A fake Kubernetes API server for tests, benchmarks and the demo: the kinds of sim/resources.hpp
// over the real wire protocol (discovery, list with pagination and selectors, watch with replay,
// bookmarks and 410 Expired, create and update with optimistic concurrency, server-side Tables
// for kubectl, bearer auth, TokenReview and SubjectAccessReview), on its own io_context thread,
// driven from C++ through a thread-safe API.

#include "common/result.hpp"
#include "http/server.hpp"
#include "sim/access.hpp"
#include "sim/store.hpp"

#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace nodepack::sim {

struct FakeApiOptions {
  std::string token;                 // the admin's bearer token (group system:masters); tokens are required when set
  std::size_t history_limit = 1000;  // events kept for watch replay and old lists
  std::chrono::milliseconds bookmark_interval{60'000};
  std::uint64_t seed = 1;                            // for generated uids
  std::string git_version = "v1.32.0-nodepack-sim";  // what /version answers (major and minor follow)
  http::ServerLimits limits = {};                    // limits.tls set: HTTPS only (see http/tls.hpp)
  // More callers, and what SubjectAccessReviews allow them (the admin: everything).
  std::vector<Identity> identities;
  std::vector<AccessRule> rules;
};

class FakeApiServer {
 public:
  explicit FakeApiServer(FakeApiOptions options = {});
  ~FakeApiServer();
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;

  // Listens ("127.0.0.1:0" picks a port) and starts serving on a thread of its own.
  Result<void> start(std::string_view address = "127.0.0.1:0");
  // Ends every watch, closes every connection and joins the thread. Idempotent.
  void stop();
  std::uint16_t port() const;
  std::string url() const;  // "http://127.0.0.1:PORT", or https:// when options.limits.tls is set

  // Scripted changes; each bumps the resourceVersion and reaches open watches.
  Result<boost::json::object> upsert(Kind kind, boost::json::object object);
  bool remove(Kind kind, std::string_view ns, std::string_view name);
  std::optional<boost::json::object> get(Kind kind, std::string_view ns, std::string_view name) const;
  std::vector<ObjectPtr> objects(Kind kind) const;
  // Forgets all history: any older resourceVersion (watch or continue token) now gets 410.
  void compact();
  // Ends every open watch stream (the chunked body is closed), as an API server restart would.
  void drop_watches();
  // What /version answers from now on ("v1.37.0"), as an upgraded API server would.
  void set_version(std::string git_version);
  // The next `count` requests get `status` (e.g. 500, 429 with Retry-After) as a Status object.
  void set_fail_next(unsigned count, unsigned status);

  // Requests received per verb ("list", "watch", "get", "write": POST/PUT/DELETE, "review"),
  // failed ones included.
  std::uint64_t request_count(std::string_view verb) const;
  std::uint64_t total_requests() const;
  std::uint64_t resource_version() const;
  std::size_t watch_count() const;  // open watch streams

  Store& store() { return *store_; }

 private:
  struct Handlers;

  FakeApiOptions options_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Handlers> handlers_;
  std::unique_ptr<boost::asio::io_context> io_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

}  // namespace nodepack::sim
