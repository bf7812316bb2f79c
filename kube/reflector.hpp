#pragma once

// List, then watch, forever: client-go's reflector for one resource, feeding a sink.
//
// The first list asks for resourceVersion=0, which the API server answers from its watch cache
// without touching etcd. That answer is not paged: the watch cache ignores `limit` (it is optional
// for a server to honor; kubernetes/kubernetes#96182, #118394), and a consistent paginated list
// instead is read from etcd, for a node's pods a scan of every pod in the cluster filtered by
// spec.nodeName, per agent and per restart: what the cache exists to spare. So for a sink that
// takes pages (below) the first list is streamed instead: its body is parsed item by item as it
// arrives (ApiClient::get_pieces, ListStreamParser), never held as text, so what its size costs
// is one item being parsed and the sink's digests, not the page; its later lists are read so too.
// A sink that takes a list whole gets its pages read whole and parsed once complete (it holds the
// parsed items anyway; an endless answer costs the bound in text, not parsed). The watch then
// resumes from the last resourceVersion seen (objects and bookmarks), with a randomised timeout
// so a fleet of agents does not reconnect in step. When the API server says that version is gone (410 Gone, or an
// ERROR event carrying a 410 Status), the reflector relists consistently (no resourceVersion,
// paginated with limit/continue) and replaces the sink's contents. Failures back off
// exponentially with jitter.
//
// What is read at once is bounded: a list page by max_list_bytes, a watch event by max_event_bytes.
// A list over its bound fails like any other list (the sink keeps what it had) and is retried
// paginated; a watch event over its bound is lost, so the watch ends and the reflector relists.

#include "common/clock.hpp"
#include "common/result.hpp"
#include "kube/api_client.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace nodepack::kube {

enum class WatchEventType { added, modified, deleted };

// Receives what the reflector learns. Returning an error means the object was malformed; the
// reflector logs it, counts it and carries on with the rest.
class ReflectorSink {
 public:
  virtual ~ReflectorSink() = default;
  virtual Result<void> replace(const std::vector<boost::json::value>& items) = 0;
  virtual Result<void> apply(WatchEventType type, const boost::json::value& object) = 0;

  // A sink that keeps only a digest of each object may take a list page by page, so that a
  // cluster-wide list is never held parsed all at once: begin_pages(), add_page() with the items
  // parsed so far (a page's, or part of one: about a MiB of text each), then finish_pages()
  // replaces the state. Its lists are all paginated (--list-page-size), the first one too, instead of
  // one answer from the API server's cache, unless pages_first_list() says otherwise. A list that
  // restarts calls begin_pages() again (what was gathered is dropped); one that fails never calls
  // finish_pages(), and the state stays as it was.
  virtual bool takes_pages() const { return false; }
  // Whether its first list is paginated too. A sink of a small selection (a node's pods) that takes
  // pages only to build its model as the items are parsed keeps the cached first list: false.
  virtual bool pages_first_list() const { return takes_pages(); }
  virtual void begin_pages() {}
  virtual Result<void> add_page(const std::vector<boost::json::value>& /*items*/) { return {}; }
  virtual Result<void> finish_pages() { return {}; }
};

struct ReflectorOptions {
  std::string resource;  // "pods", "nodes": for logs and /sync
  std::string path;      // "/api/v1/pods"
  std::string field_selector;
  std::string label_selector;
  std::int64_t page_size = 500;  // consistent lists only; 0 = one page
  std::chrono::milliseconds initial_backoff{800};
  std::chrono::milliseconds max_backoff{30'000};
  std::chrono::seconds min_watch_timeout{300};  // actual timeout is uniform in [min, 2*min)
  std::chrono::milliseconds request_timeout{60'000};
  std::uint64_t max_list_bytes = default_max_list_bytes;
  std::uint64_t max_event_bytes = default_max_event_bytes;
  // Not ready once the reflector has failed continuously for this long (see /readyz).
  std::chrono::milliseconds unready_after{std::chrono::minutes(3)};
};

struct ReflectorStatus {
  std::string resource;
  std::string state = "starting";                                      // starting, listing, watching, backoff
  bool synced = false;                                                 // a full list has been delivered
  std::optional<std::chrono::system_clock::time_point> last_sync;      // last completed list
  std::optional<std::chrono::system_clock::time_point> last_activity;  // list, event or bookmark
  std::optional<std::chrono::system_clock::time_point> failing_since;
  std::string resource_version;
  std::string last_error;
  std::uint64_t lists = 0;
  std::uint64_t relists_expired = 0;
  std::uint64_t watches = 0;
  std::uint64_t events = 0;
  std::uint64_t bookmarks = 0;
  std::uint64_t errors = 0;
  std::uint64_t decode_errors = 0;
  std::uint64_t too_large = 0;  // lists and watches ended by a page or event over its bound (also in errors)
};

class Reflector {
 public:
  Reflector(ApiClient& client, ReflectorOptions options, ReflectorSink& sink, const Clock& clock);

  // Runs until the executor stops.
  boost::asio::awaitable<void> run();

  ReflectorStatus status() const;
  // Synced, and not failing for longer than unready_after.
  bool ready() const;

 private:
  enum class ListKind { cached, consistent };
  boost::asio::awaitable<ApiResult<void>> list(ListKind kind);
  // Returns true when the stored resourceVersion expired and a consistent relist is needed.
  boost::asio::awaitable<ApiResult<bool>> watch();
  void handle_event(std::string_view line, bool& expired);
  std::string selectors_query() const;
  std::chrono::milliseconds next_backoff();
  void record_failure(const ApiError& error);
  void record_success();
  template <class F>
  void update(F&& f);

  ApiClient& client_;
  ReflectorOptions options_;
  ReflectorSink& sink_;
  const Clock& clock_;
  std::mt19937_64 random_;
  int consecutive_failures_ = 0;
  std::string resource_version_;

  mutable std::mutex mutex_;
  ReflectorStatus status_;
};

}  // namespace nodepack::kube
