#include "kube/peers/peer_tables.hpp"

#include <algorithm>
#include <functional>
#include <tuple>

namespace nodepack::kube::peers {

std::size_t NamedKeyHash::operator()(const NamedKey& k) const noexcept {
  return std::hash<std::string>()(k.name) ^ (std::size_t{k.ns} * 0x9E3779B97F4A7C15ULL);
}

AddressPair AddressPair::of(const std::vector<AddressKey>& addresses) {
  AddressPair pair;
  for (const auto& a : addresses) {
    if (pair.count < pair.keys.size()) {
      pair.keys[pair.count++] = a;
    }
  }
  return pair;
}

namespace {

// The key of an object already kept, without taking a reference: nullopt when its namespace is
// unknown (then nothing of it is kept either).
std::optional<NamedKey> kept_key(const StringPool& pool, const std::string& ns, const std::string& name) {
  const auto id = pool.find(ns);
  return id ? std::optional<NamedKey>(NamedKey{*id, name}) : std::nullopt;
}

// Drops the index entries that point at `owner` (and only those: a reused address stays with
// its newer owner).
template <class Index, class Addresses, class Owner>
void unindex(Index& index, const Addresses& addresses, const Owner* owner) {
  for (const auto& a : addresses) {
    auto [first, last] = index.equal_range(a);
    for (auto it = first; it != last;) {
      it = it->second == owner ? index.erase(it) : std::next(it);
    }
  }
}

}  // namespace

// --- pods

PodTable::~PodTable() {
  while (!pods_.empty()) {
    erase(pods_.begin());
  }
}

void PodTable::erase(Map::iterator it) {
  unindex(by_address_, it->second.addresses, &*it);
  pool_->release(it->first.ns);
  pool_->release(it->second.workload);
  pods_.erase(it);
}

void PodTable::remove(const PodDigest& pod) {
  if (const auto key = kept_key(*pool_, pod.namespace_name, pod.name)) {
    if (const auto it = pods_.find(*key); it != pods_.end()) {
      erase(it);
    }
  }
}

void PodTable::upsert(const PodDigest& pod) {
  remove(pod);  // an update re-indexes from scratch: addresses and workload may both change
  if (pod.addresses.empty()) {
    return;
  }
  const auto [it, added] = pods_.try_emplace(NamedKey{pool_->acquire(pod.namespace_name), pod.name},
                                             Entry{pool_->acquire(pod.workload), AddressPair::of(pod.addresses)});
  for (const auto& a : it->second.addresses) {
    by_address_.insert_or_assign(a, &*it);
  }
}

void PodTable::swap(PodTable& other) noexcept {
  std::swap(pool_, other.pool_);
  pods_.swap(other.pods_);
  by_address_.swap(other.by_address_);
}

std::optional<PeerName> PodTable::find(const AddressKey& address) const {
  const auto it = by_address_.find(address);
  if (it == by_address_.end()) {
    return std::nullopt;
  }
  const auto& [key, entry] = *it->second;
  return PeerName{PeerKind::pod, pool_->at(key.ns), pool_->at(entry.workload), key.name};
}

// --- services

ServiceTable::~ServiceTable() {
  while (!services_.empty()) {
    erase(services_.begin());
  }
}

void ServiceTable::erase(Map::iterator it) {
  unindex(by_address_, it->second, &*it);
  pool_->release(it->first.ns);
  pool_->release(it->first.name);
  services_.erase(it);
}

void ServiceTable::remove(const ServiceDigest& service) {
  const auto ns = pool_->find(service.namespace_name);
  const auto name = pool_->find(service.name);
  if (ns && name) {
    if (const auto it = services_.find(Key{*ns, *name}); it != services_.end()) {
      erase(it);
    }
  }
}

void ServiceTable::upsert(const ServiceDigest& service) {
  remove(service);
  if (service.addresses.empty()) {
    return;  // headless or ExternalName: no address of its own
  }
  const auto [it, added] = services_.try_emplace(
      Key{pool_->acquire(service.namespace_name), pool_->acquire(service.name)}, AddressPair::of(service.addresses));
  for (const auto& a : it->second) {
    by_address_.insert_or_assign(a, &*it);
  }
}

void ServiceTable::swap(ServiceTable& other) noexcept {
  std::swap(pool_, other.pool_);
  services_.swap(other.services_);
  by_address_.swap(other.by_address_);
}

std::optional<PeerName> ServiceTable::find(const AddressKey& address) const {
  const auto it = by_address_.find(address);
  if (it == by_address_.end()) {
    return std::nullopt;
  }
  const auto& key = it->second->first;
  const auto& name = pool_->at(key.name);
  return PeerName{PeerKind::service, pool_->at(key.ns), name, name};
}

// --- endpoint slices

SliceTable::~SliceTable() {
  while (!slices_.empty()) {
    erase(slices_.begin());
  }
}

void SliceTable::erase(Map::iterator it) {
  unindex(by_address_, it->second.addresses, &*it);
  pool_->release(it->first.ns);
  pool_->release(it->second.service);
  slices_.erase(it);
}

void SliceTable::remove(const SliceDigest& slice) {
  if (const auto key = kept_key(*pool_, slice.namespace_name, slice.name)) {
    if (const auto it = slices_.find(*key); it != slices_.end()) {
      erase(it);
    }
  }
}

void SliceTable::upsert(const SliceDigest& slice) {
  remove(slice);
  if (slice.service.empty() || slice.addresses.empty()) {
    return;
  }
  auto ports = slice.ports;
  std::sort(ports.begin(), ports.end());
  ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
  auto addresses = slice.addresses;
  addresses.shrink_to_fit();
  const auto [it, added] =
      slices_.try_emplace(NamedKey{pool_->acquire(slice.namespace_name), slice.name},
                          Entry{pool_->acquire(slice.service), std::move(addresses), std::move(ports)});
  for (const auto& a : it->second.addresses) {
    by_address_.emplace(a, &*it);
  }
}

void SliceTable::swap(SliceTable& other) noexcept {
  std::swap(pool_, other.pool_);
  slices_.swap(other.slices_);
  by_address_.swap(other.by_address_);
}

std::optional<PeerName> SliceTable::find(const AddressKey& address, std::uint16_t port) const {
  const Map::value_type* best = nullptr;
  const auto order = [this](const Map::value_type* s) {
    return std::tie(pool_->at(s->first.ns), pool_->at(s->second.service));
  };
  auto [first, last] = by_address_.equal_range(address);
  for (auto it = first; it != last; ++it) {
    const auto& ports = it->second->second.ports;
    const bool serves = port == 0 || ports.empty() || std::binary_search(ports.begin(), ports.end(), port);
    if (serves && (best == nullptr || order(it->second) < order(best))) {
      best = it->second;
    }
  }
  if (best == nullptr) {
    return std::nullopt;
  }
  const auto& service = pool_->at(best->second.service);
  return PeerName{PeerKind::service, pool_->at(best->first.ns), service, service};
}

}  // namespace nodepack::kube::peers
