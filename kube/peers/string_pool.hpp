#pragma once

// Names shared by many peers (namespaces, workloads, Service names) kept once, by a small id, and
// counted: a name no peer uses any more is freed, so pod churn (bare pods and Jobs name their own
// workload) does not grow the pool for ever.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace nodepack::kube::peers {

class StringPool {
 public:
  using Id = std::uint32_t;

  // The id of `s`, one more reference to it.
  Id acquire(std::string_view s);
  // One reference less; the last frees the name (its id may then name another).
  void release(Id id);
  // The id of `s` when some peer uses it, without taking a reference.
  std::optional<Id> find(std::string_view s) const;
  const std::string& at(Id id) const { return slots_[id].text; }
  std::size_t live() const { return ids_.size(); }

 private:
  struct Slot {
    std::string text;
    std::uint32_t refs = 0;
  };
  std::deque<Slot> slots_;  // a deque: growing it moves no string, so the map's views stay valid
  std::vector<Id> free_;
  std::unordered_map<std::string_view, Id> ids_;
};

}  // namespace nodepack::kube::peers
