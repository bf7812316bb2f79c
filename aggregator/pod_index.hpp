#pragma once

// Every counted pod of the cluster by its key, in a few bytes each: the key, its node's index and
// its requests' row ids (aggregator/request_rows.hpp). The API server gives every pod a UID in the
// canonical UUID form, kept as its 16 bytes; any other key (a UID of another shape, namespace/name
// for a pod without one) is kept as text in a table of its own, so lookups stay exact.
//
// UUID-keyed pods sit side by side in blocks (a deque: growing never copies them), and the hash
// table holds only their 4-byte positions: a table of whole entries would be 28-byte slots at a
// load as low as 0.44 after its last doubling, and hold its old and new arrays at once while
// doubling, most of the store again, in the middle of the first list.

#include <boost/unordered/unordered_flat_map.hpp>
#include <boost/unordered/unordered_flat_set.hpp>

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace nodepack::aggregator {

struct PodRecord {
  std::uint32_t node : 31 = 0;  // index into the owner's node names
  std::uint32_t daemonset : 1 = 0;
  std::uint32_t requests = 0;  // row id under the rule in force
  std::uint32_t other = 0;     // row id under the other rule; RequestRows::none when the same
};

using Uuid = std::array<std::uint8_t, 16>;

// The 16 bytes of a canonical lowercase UUID ("0f8fad5b-d9cb-469f-a165-70867728950e"), or nothing:
// only one text reads back as each value, so keys that differ as text differ as bytes.
std::optional<Uuid> parse_uuid(std::string_view text);

class PodIndex {
 public:
  PodIndex();
  // The position table's hasher points at the entries, which therefore live on the heap: moving
  // or swapping an index takes both along and leaves the other empty and usable.
  PodIndex(const PodIndex&) = delete;
  PodIndex& operator=(const PodIndex&) = delete;
  PodIndex(PodIndex&& other) noexcept : PodIndex() { swap(other); }
  PodIndex& operator=(PodIndex&& other) noexcept {
    PodIndex taken(std::move(other));
    swap(taken);
    return *this;
  }
  void swap(PodIndex& other) noexcept;

  PodRecord* find(std::string_view key);
  // Inserts or overwrites.
  void put(std::string_view key, const PodRecord& record);
  bool erase(std::string_view key);
  std::size_t size() const { return entries_->size() + by_text_.size(); }

  template <class F>
  void for_each(F&& f) {
    for (auto& entry : *entries_) {
      f(entry.record);
    }
    for (auto& [key, record] : by_text_) {
      f(record);
    }
  }

 private:
  struct Entry {
    Uuid key;
    PodRecord record;
  };
  // Positions in entries_, hashed and compared by the key stored there; a Uuid finds its position.
  struct PositionHash {
    using is_transparent = void;
    const std::deque<Entry>* entries;
    std::size_t operator()(const Uuid& u) const;  // a UUID's bytes are random already
    std::size_t operator()(std::uint32_t position) const { return (*this)((*entries)[position].key); }
  };
  struct PositionEqual {
    using is_transparent = void;
    const std::deque<Entry>* entries;
    const Uuid& key(std::uint32_t position) const { return (*entries)[position].key; }
    static const Uuid& key(const Uuid& u) { return u; }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return key(a) == key(b);
    }
  };
  struct TextHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  using Positions = boost::unordered_flat_set<std::uint32_t, PositionHash, PositionEqual>;

  std::unique_ptr<std::deque<Entry>> entries_;
  Positions positions_;
  boost::unordered_flat_map<std::string, PodRecord, TextHash, std::equal_to<>> by_text_;
};

}  // namespace nodepack::aggregator
