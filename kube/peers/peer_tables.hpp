#pragma once

// The cluster's address owners, one table per kind, each keyed by namespace and name (what a
// DELETED event carries) and indexed by address (what a lookup asks). Not thread-safe: the
// PeerModel (peer_model.hpp) locks around them. Names shared by many entries live in a
// StringPool; an entry holds ids, its addresses inline, and a pod or slice its own name.

#include "kube/peers/address_key.hpp"
#include "kube/peers/peer_objects.hpp"
#include "kube/peers/string_pool.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace nodepack::kube::peers {

enum class PeerKind { pod, service };

struct PeerName {
  PeerKind kind = PeerKind::pod;
  std::string namespace_name;
  std::string workload;  // a pod's workload; a Service's own name
  std::string name;
  bool operator==(const PeerName&) const = default;
};

// Namespace id and an object's own name: pods and slices are too many and too short-lived to
// intern their names.
struct NamedKey {
  StringPool::Id ns = 0;
  std::string name;
  bool operator==(const NamedKey&) const = default;
};
struct NamedKeyHash {
  std::size_t operator()(const NamedKey& k) const noexcept;
};

// At most two addresses (dual stack), inline.
struct AddressPair {
  std::array<AddressKey, 2> keys{};
  std::uint8_t count = 0;
  static AddressPair of(const std::vector<AddressKey>& addresses);
  const AddressKey* begin() const { return keys.data(); }
  const AddressKey* end() const { return keys.data() + count; }
};

class PodTable {
 public:
  explicit PodTable(StringPool& pool) : pool_(&pool) {}
  ~PodTable();
  PodTable(const PodTable&) = delete;
  PodTable& operator=(const PodTable&) = delete;

  // A digest without addresses removes the pod: it holds none.
  void upsert(const PodDigest& pod);
  void remove(const PodDigest& pod);
  void swap(PodTable& other) noexcept;
  std::optional<PeerName> find(const AddressKey& address) const;
  std::size_t size() const { return pods_.size(); }
  std::size_t addresses() const { return by_address_.size(); }

 private:
  struct Entry {
    StringPool::Id workload = 0;
    AddressPair addresses;
  };
  using Map = std::unordered_map<NamedKey, Entry, NamedKeyHash>;
  void erase(Map::iterator it);

  StringPool* pool_;
  Map pods_;
  // The newest claim wins: a reused IP points at the pod that took it last, and an older pod
  // leaving takes away only what still points at it.
  std::unordered_map<AddressKey, const Map::value_type*, AddressKeyHash> by_address_;
};

class ServiceTable {
 public:
  explicit ServiceTable(StringPool& pool) : pool_(&pool) {}
  ~ServiceTable();
  ServiceTable(const ServiceTable&) = delete;
  ServiceTable& operator=(const ServiceTable&) = delete;

  void upsert(const ServiceDigest& service);
  void remove(const ServiceDigest& service);
  void swap(ServiceTable& other) noexcept;
  std::optional<PeerName> find(const AddressKey& address) const;
  std::size_t size() const { return services_.size(); }

 private:
  struct Key {
    StringPool::Id ns = 0;
    StringPool::Id name = 0;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept { return (std::size_t{k.ns} << 32) ^ k.name; }
  };
  using Map = std::unordered_map<Key, AddressPair, KeyHash>;
  void erase(Map::iterator it);

  StringPool* pool_;
  Map services_;
  std::unordered_map<AddressKey, const Map::value_type*, AddressKeyHash> by_address_;
};

class SliceTable {
 public:
  explicit SliceTable(StringPool& pool) : pool_(&pool) {}
  ~SliceTable();
  SliceTable(const SliceTable&) = delete;
  SliceTable& operator=(const SliceTable&) = delete;

  // A slice no Service owns, or with no address, is not kept.
  void upsert(const SliceDigest& slice);
  void remove(const SliceDigest& slice);
  void swap(SliceTable& other) noexcept;
  // The Service whose slices list this address with this port (0: any port). When several do,
  // the first by namespace and name, so the answer does not depend on hash order.
  std::optional<PeerName> find(const AddressKey& address, std::uint16_t port) const;
  std::size_t size() const { return slices_.size(); }
  std::size_t addresses() const { return by_address_.size(); }

 private:
  struct Entry {
    StringPool::Id service = 0;
    std::vector<AddressKey> addresses;
    std::vector<std::uint16_t> ports;
  };
  using Map = std::unordered_map<NamedKey, Entry, NamedKeyHash>;
  void erase(Map::iterator it);

  StringPool* pool_;
  Map slices_;
  std::unordered_multimap<AddressKey, const Map::value_type*, AddressKeyHash> by_address_;
};

}  // namespace nodepack::kube::peers
