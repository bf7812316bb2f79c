#pragma once

// The simulated API server's state: objects per kind, one resourceVersion counter, a bounded event
// history for watch replay and consistent paginated lists, and the open watches. Thread-safe; no
// HTTP in here.

#include "common/clock.hpp"
#include "common/result.hpp"
#include "sim/field_selector.hpp"
#include "sim/label_selector.hpp"
#include "sim/resources.hpp"

#include <boost/json/object.hpp>
#include <boost/system/result.hpp>

#include <array>
#include <compare>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace nodepack::sim {

// An API error as the server reports it in a Status object.
struct ApiStatus {
  unsigned code = 500;
  std::string reason;  // "Expired", "BadRequest", ...
  std::string message;
};

[[noreturn]] void throw_exception_from_error(const ApiStatus& status, const boost::source_location&);

template <class T>
using ApiResult = boost::system::result<T, ApiStatus>;

using ObjectPtr = std::shared_ptr<const boost::json::object>;

struct ObjectKey {
  std::string ns;  // "" for cluster-scoped kinds
  std::string name;
  auto operator<=>(const ObjectKey&) const = default;
};

enum class EventType { added, modified, deleted };
std::string_view event_type_name(EventType type);  // "ADDED"

struct Event {
  std::uint64_t resource_version = 0;
  Kind kind = Kind::pod;
  EventType type = EventType::added;
  // What a watcher that sees the event unfiltered receives: the new state, or for a deletion the
  // last state stamped with the deletion's resourceVersion.
  ObjectPtr object;
  ObjectPtr previous;  // the state before the change; null for an addition
};
using EventPtr = std::shared_ptr<const Event>;

// Which objects a list or watch selects.
struct Filter {
  std::string ns;  // "" = all namespaces
  LabelSelector labels;
  FieldSelector fields;
  bool matches(const boost::json::object& object) const;
};

// One open watch. The store queues every event of its kind; the watch stream filters and sends
// them. `wake` is called (with no lock held) after an event is queued or the watch is dropped.
struct Watcher {
  explicit Watcher(Kind k) : kind(k) {}
  const Kind kind;
  std::mutex mutex;
  std::deque<EventPtr> pending;
  bool dropped = false;
  std::function<void()> wake;
};

struct ListPage {
  std::uint64_t resource_version = 0;
  std::vector<ObjectPtr> items;
  std::optional<ObjectKey> continue_after;  // set when more matching items follow
};

struct WatchStart {
  std::uint64_t resource_version = 0;  // the store's version when the watch was registered
  std::vector<EventPtr> initial;       // replayed history, or synthetic ADDED for current objects
};

// How a write treats an object that exists (or does not).
enum class WriteMode {
  upsert,  // add or replace, whatever is there (scripted changes, the churner)
  create,  // 409 AlreadyExists when it exists (POST)
  update,  // 404 when it does not; 409 Conflict when metadata.resourceVersion is set and stale (PUT)
};

class Store {
 public:
  explicit Store(std::size_t history_limit, const Clock& clock = SystemClock::instance(), std::uint64_t seed = 1);

  // Adds or replaces an object (keyed by namespace and name), stamping kind, apiVersion,
  // resourceVersion, and uid and creationTimestamp when absent. Returns the stored object.
  Result<ObjectPtr> upsert(Kind kind, boost::json::object object);
  // The same with the API server's preconditions: what POST and PUT do, optimistic concurrency
  // on metadata.resourceVersion included.
  ApiResult<ObjectPtr> write(Kind kind, boost::json::object object, WriteMode mode);
  bool remove(Kind kind, std::string_view ns, std::string_view name);
  ObjectPtr get(Kind kind, std::string_view ns, std::string_view name) const;
  std::vector<ObjectPtr> all(Kind kind) const;

  // Up to `limit` (0 = all) matching objects after `after`, in namespace/name order. With
  // `at_version` the list is the state as of that version (410 Expired once it is compacted).
  ApiResult<ListPage> list(Kind kind, const Filter& filter, std::optional<std::uint64_t> at_version,
                           const std::optional<ObjectKey>& after, std::size_t limit) const;

  // Registers a watcher. `from` of 0 or none: synthetic ADDED events for every current object;
  // otherwise the history after `from` (410 Expired when that is no longer held).
  ApiResult<WatchStart> watch(const std::shared_ptr<Watcher>& watcher, std::optional<std::uint64_t> from);

  void compact();
  void drop_watches();
  std::uint64_t resource_version() const;
  std::size_t watch_count() const;

 private:
  struct KindState {
    std::map<ObjectKey, ObjectPtr> objects;
  };
  KindState& state(Kind kind) { return kinds_[static_cast<std::size_t>(kind)]; }
  const KindState& state(Kind kind) const { return kinds_[static_cast<std::size_t>(kind)]; }
  static ObjectKey key_of(Kind kind, const boost::json::object& object);
  void record(EventPtr event);  // with mutex_ held
  std::string new_uid();

  const std::size_t history_limit_;
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::mt19937_64 random_;
  std::uint64_t version_ = 0;
  std::uint64_t oldest_ = 0;  // the oldest version lists and watches can start from
  std::array<KindState, kind_count> kinds_;
  std::deque<EventPtr> history_;
  std::vector<std::weak_ptr<Watcher>> watchers_;
};

// The Status object the API server sends with an error.
boost::json::object status_object(const ApiStatus& status);

}  // namespace nodepack::sim
