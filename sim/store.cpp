#include "sim/store.hpp"

#include <boost/json/value.hpp>

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace nodepack::sim {

namespace json = boost::json;

std::string_view event_type_name(EventType type) {
  switch (type) {
    case EventType::added:
      return "ADDED";
    case EventType::modified:
      return "MODIFIED";
    case EventType::deleted:
      return "DELETED";
  }
  return "ERROR";
}

void throw_exception_from_error(const ApiStatus& status, const boost::source_location&) {
  throw ErrorException(status.message);
}

json::object status_object(const ApiStatus& status) {
  json::object o;
  o["kind"] = "Status";
  o["apiVersion"] = "v1";
  o["metadata"] = json::object();
  o["status"] = "Failure";
  o["message"] = status.message;
  o["reason"] = status.reason;
  o["code"] = status.code;
  return o;
}

bool Filter::matches(const json::object& object) const {
  if (!ns.empty() && field_value(object, "metadata.namespace") != ns) {
    return false;
  }
  if (!labels.empty()) {
    const json::object* labels_object = nullptr;
    if (const auto* metadata = object.if_contains("metadata"); metadata != nullptr && metadata->is_object()) {
      if (const auto* l = metadata->get_object().if_contains("labels"); l != nullptr && l->is_object()) {
        labels_object = &l->get_object();
      }
    }
    if (!labels.matches(labels_object)) {
      return false;
    }
  }
  return fields.matches(object);
}

namespace {

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json::object& metadata_of(json::object& object) {
  auto& m = object["metadata"];
  if (!m.is_object()) {
    m = json::object();
  }
  return m.get_object();
}

ObjectPtr with_version(const json::object& object, std::uint64_t version) {
  auto copy = std::make_shared<json::object>(object);
  metadata_of(*copy)["resourceVersion"] = std::to_string(version);
  return copy;
}

}  // namespace

Store::Store(std::size_t history_limit, const Clock& clock, std::uint64_t seed)
    : history_limit_(std::max<std::size_t>(history_limit, 1)), clock_(clock), random_(seed) {}

std::string Store::new_uid() {
  // A version 4 UUID from the store's seeded generator, so runs with one seed repeat.
  std::uniform_int_distribution<std::uint32_t> byte(0, 255);
  unsigned char b[16];
  for (auto& x : b) {
    x = static_cast<unsigned char>(byte(random_));
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  char out[37];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

ObjectKey Store::key_of(Kind kind, const json::object& object) {
  const auto& m = object.at("metadata").as_object();
  return ObjectKey{is_namespaced(kind) ? std::string(m.at("namespace").as_string()) : std::string(),
                   std::string(m.at("name").as_string())};
}

Result<ObjectPtr> Store::upsert(Kind kind, json::object object) {
  auto stored = write(kind, std::move(object), WriteMode::upsert);
  if (!stored) {
    return fail(stored.error().message);
  }
  return *stored;
}

ApiResult<ObjectPtr> Store::write(Kind kind, json::object object, WriteMode mode) {
  const ResourceType& type = type_of(kind);
  // Top-level keys first: inserting into `object` moves its values, metadata included.
  object["kind"] = type.kind_name;
  object["apiVersion"] = api_version(type);
  auto& metadata = metadata_of(object);
  const auto* name = metadata.if_contains("name");
  if (name == nullptr || !name->is_string() || name->get_string().empty()) {
    return ApiStatus{422, "Invalid", std::string(type.kind_name) + " without metadata.name"};
  }
  ObjectKey key{"", std::string(name->get_string())};
  if (type.namespaced) {
    const auto* ns = metadata.if_contains("namespace");
    if (ns == nullptr || !ns->is_string() || ns->get_string().empty()) {
      metadata["namespace"] = "default";
    }
    key.ns = std::string(metadata["namespace"].get_string());
  } else {
    metadata.erase("namespace");
  }
  std::string expected_version;
  if (const auto* rv = metadata.if_contains("resourceVersion"); rv != nullptr && rv->is_string()) {
    expected_version = std::string(rv->get_string());
  }

  ObjectPtr stored;
  {
    std::lock_guard lock(mutex_);
    auto& objects = state(kind).objects;
    const auto existing = objects.find(key);
    ObjectPtr previous = existing == objects.end() ? nullptr : existing->second;
    const std::string what = std::string(type.resource) + (type.group.empty() ? "" : "." + std::string(type.group)) +
                             " \"" + key.name + "\"";
    if (mode == WriteMode::create && previous) {
      return ApiStatus{409, "AlreadyExists", what + " already exists"};
    }
    if (mode == WriteMode::update && !previous) {
      return ApiStatus{404, "NotFound", what + " not found"};
    }
    if (mode == WriteMode::update && !expected_version.empty() &&
        previous->at("metadata").as_object().at("resourceVersion").as_string() != expected_version) {
      return ApiStatus{409, "Conflict",
                       "Operation cannot be fulfilled on " + what +
                           ": the object has been modified; please apply your changes to the latest version and "
                           "try again"};
    }
    const json::object* previous_metadata = previous ? &previous->at("metadata").as_object() : nullptr;
    auto keep_or_set = [&](std::string_view field, auto make) {
      const auto* current = metadata.if_contains(field);
      if (current != nullptr && current->is_string() && !current->get_string().empty()) {
        return;
      }
      if (previous_metadata != nullptr) {
        if (const auto* old = previous_metadata->if_contains(field)) {
          metadata[field] = *old;
          return;
        }
      }
      metadata[field] = make();
    };
    keep_or_set("uid", [&] { return new_uid(); });
    keep_or_set("creationTimestamp", [&] { return rfc3339(clock_.now()); });
    metadata["resourceVersion"] = std::to_string(++version_);
    stored = std::make_shared<const json::object>(std::move(object));
    objects[key] = stored;
    auto event = std::make_shared<Event>();
    event->resource_version = version_;
    event->kind = kind;
    event->type = previous ? EventType::modified : EventType::added;
    event->object = stored;
    event->previous = previous;
    record(std::move(event));
  }
  return stored;
}

bool Store::remove(Kind kind, std::string_view ns, std::string_view name) {
  std::lock_guard lock(mutex_);
  auto& objects = state(kind).objects;
  const auto it = objects.find(ObjectKey{is_namespaced(kind) ? std::string(ns) : std::string(), std::string(name)});
  if (it == objects.end()) {
    return false;
  }
  auto event = std::make_shared<Event>();
  event->resource_version = ++version_;
  event->kind = kind;
  event->type = EventType::deleted;
  event->previous = it->second;
  event->object = with_version(*it->second, version_);
  objects.erase(it);
  record(std::move(event));
  return true;
}

void Store::record(EventPtr event) {
  history_.push_back(event);
  while (history_.size() > history_limit_) {
    oldest_ = history_.front()->resource_version;
    history_.pop_front();
  }
  std::erase_if(watchers_, [](const auto& w) { return w.expired(); });
  for (const auto& weak : watchers_) {
    auto watcher = weak.lock();
    if (!watcher || watcher->kind != event->kind) {
      continue;
    }
    std::function<void()> wake;
    {
      std::lock_guard watcher_lock(watcher->mutex);
      watcher->pending.push_back(event);
      wake = watcher->wake;
    }
    if (wake) {
      wake();
    }
  }
}

ObjectPtr Store::get(Kind kind, std::string_view ns, std::string_view name) const {
  std::lock_guard lock(mutex_);
  const auto& objects = state(kind).objects;
  const auto it = objects.find(ObjectKey{is_namespaced(kind) ? std::string(ns) : std::string(), std::string(name)});
  return it == objects.end() ? nullptr : it->second;
}

std::vector<ObjectPtr> Store::all(Kind kind) const {
  std::lock_guard lock(mutex_);
  std::vector<ObjectPtr> out;
  for (const auto& [key, object] : state(kind).objects) {
    out.push_back(object);
  }
  return out;
}

ApiResult<ListPage> Store::list(Kind kind, const Filter& filter, std::optional<std::uint64_t> at_version,
                                const std::optional<ObjectKey>& after, std::size_t limit) const {
  std::lock_guard lock(mutex_);
  ListPage page;
  page.resource_version = version_;
  // The state at an older version is the current state with later changes undone: for each key
  // changed since, the state before its earliest later change.
  std::map<ObjectKey, ObjectPtr> undone;
  if (at_version && *at_version < version_) {
    if (*at_version < oldest_) {
      return ApiStatus{410, "Expired", "expired"};
    }
    page.resource_version = *at_version;
    for (auto it = history_.rbegin(); it != history_.rend() && (*it)->resource_version > *at_version; ++it) {
      const Event& e = **it;
      if (e.kind != kind) {
        continue;
      }
      undone[key_of(kind, *(e.object ? e.object : e.previous))] = e.type == EventType::added ? nullptr : e.previous;
    }
  }
  const auto& objects = state(kind).objects;
  auto current = after ? objects.upper_bound(*after) : objects.begin();
  auto old = after ? undone.upper_bound(*after) : undone.begin();
  if (!filter.ns.empty() && !after) {
    const ObjectKey first{filter.ns, ""};
    current = objects.lower_bound(first);
    old = undone.lower_bound(first);
  }
  for (;;) {
    const bool have_current = current != objects.end();
    const bool have_old = old != undone.end();
    if (!have_current && !have_old) {
      break;
    }
    const ObjectKey& next_key =
        have_old && (!have_current || old->first <= current->first) ? old->first : current->first;
    if (!filter.ns.empty() && next_key.ns > filter.ns) {
      break;  // past the namespace asked for
    }
    ObjectPtr candidate;
    if (have_old && (!have_current || old->first <= current->first)) {
      if (have_current && old->first == current->first) {
        ++current;
      }
      candidate = old->second;
      ++old;
    } else {
      candidate = current->second;
      ++current;
    }
    if (!candidate || !filter.matches(*candidate)) {
      continue;
    }
    if (limit != 0 && page.items.size() == limit) {
      page.continue_after = key_of(kind, *page.items.back());
      break;
    }
    page.items.push_back(std::move(candidate));
  }
  return page;
}

ApiResult<WatchStart> Store::watch(const std::shared_ptr<Watcher>& watcher, std::optional<std::uint64_t> from) {
  std::lock_guard lock(mutex_);
  WatchStart start;
  start.resource_version = version_;
  if (from && *from != 0) {
    if (*from < oldest_) {
      return ApiStatus{410, "Expired",
                       "too old resource version: " + std::to_string(*from) + " (" + std::to_string(oldest_) + ")"};
    }
    const auto first = std::upper_bound(history_.begin(), history_.end(), *from,
                                        [](std::uint64_t v, const EventPtr& e) { return v < e->resource_version; });
    for (auto it = first; it != history_.end(); ++it) {
      if ((*it)->kind == watcher->kind) {
        start.initial.push_back(*it);
      }
    }
  } else {
    for (const auto& [key, object] : state(watcher->kind).objects) {
      auto event = std::make_shared<Event>();
      const auto& version = object->at("metadata").as_object().at("resourceVersion").as_string();
      event->resource_version = std::stoull(std::string(version));
      event->kind = watcher->kind;
      event->type = EventType::added;
      event->object = object;
      start.initial.push_back(std::move(event));
    }
  }
  watchers_.push_back(watcher);
  return start;
}

void Store::compact() {
  std::lock_guard lock(mutex_);
  history_.clear();
  oldest_ = version_;
}

void Store::drop_watches() {
  std::vector<std::shared_ptr<Watcher>> open;
  {
    std::lock_guard lock(mutex_);
    for (const auto& weak : watchers_) {
      if (auto w = weak.lock()) {
        open.push_back(std::move(w));
      }
    }
    watchers_.clear();
  }
  for (const auto& watcher : open) {
    std::function<void()> wake;
    {
      std::lock_guard watcher_lock(watcher->mutex);
      watcher->dropped = true;
      wake = watcher->wake;
    }
    if (wake) {
      wake();
    }
  }
}

std::uint64_t Store::resource_version() const {
  std::lock_guard lock(mutex_);
  return version_;
}

std::size_t Store::watch_count() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(
      std::count_if(watchers_.begin(), watchers_.end(), [](const auto& w) { return !w.expired(); }));
}

}  // namespace nodepack::sim
