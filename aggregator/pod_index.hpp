#pragma once

// Every counted pod of the cluster by its key, in a few bytes each: the key, its node's index and
// its requests' row ids (aggregator/request_rows.hpp). The API server gives every pod a UID in the
// canonical UUID form, kept as its 16 bytes; any other key (a UID of another shape, namespace/name
// for a pod without one) is kept as text in a table of its own, so lookups stay exact.

#include <boost/unordered/unordered_flat_map.hpp>

#include <array>
#include <cstdint>
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
  PodRecord* find(std::string_view key);
  // Inserts or overwrites.
  void put(std::string_view key, const PodRecord& record);
  bool erase(std::string_view key);
  std::size_t size() const { return by_uuid_.size() + by_text_.size(); }

  template <class F>
  void for_each(F&& f) {
    for (auto& [key, record] : by_uuid_) {
      f(record);
    }
    for (auto& [key, record] : by_text_) {
      f(record);
    }
  }

 private:
  struct UuidHash {
    std::size_t operator()(const Uuid& u) const;  // a UUID's bytes are random already
  };
  struct TextHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };

  boost::unordered_flat_map<Uuid, PodRecord, UuidHash> by_uuid_;
  boost::unordered_flat_map<std::string, PodRecord, TextHash, std::equal_to<>> by_text_;
};

}  // namespace nodepack::aggregator
