#include "http/admission.hpp"

namespace nodepack::http::detail {

namespace ip = boost::asio::ip;

ip::address client_key(const ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return ip::make_address_v4(ip::v4_mapped, address.to_v6());
  }
  return address;
}

std::optional<Admitted> Admission::admit(const ip::address& client, bool spoke) {
  Admitted admitted;
  const std::size_t per_client_limit = limits_.max_connections_per_client;
  const auto held = [&] {
    const auto it = per_client_.find(client);
    return it == per_client_.end() ? std::size_t{0} : it->second;
  };
  const auto client_full = [&] { return per_client_limit != 0 && held() >= per_client_limit; };
  const auto fits = [&] { return regular_ < limits_.max_connections && !client_full(); };

  if (!fits()) {
    // Make room by closing an idle connection: a client at its limit gives up its own oldest, so
    // that it cannot take others' slots; otherwise the oldest idle one of all goes.
    std::optional<std::uint64_t> victim;
    if (client_full()) {
      victim = oldest_idle_of(client);
    } else if (!idle_.empty()) {
      victim = idle_.begin()->second;
    }
    if (victim) {
      evict(*victim, admitted.evicted);
      ++stats_.idle_evictions;
    }
  }

  if (fits()) {
    admitted.slot = Slot::regular;
    ++regular_;
    ++per_client_[client];
    ++stats_.connections_accepted;
  } else {
    ++stats_.connections_rejected;
    if (client_full()) {
      ++stats_.per_client_rejections;
    }
    if (health_ >= limits_.health_connections) {
      if (const auto victim = health_victim()) {
        evict(*victim, admitted.evicted);
        ++stats_.health_evictions;
      }
    }
    if (health_ >= limits_.health_connections) {
      // Every health slot is answering. Nothing was evicted above: an idle eviction always makes
      // the newcomer fit.
      return std::nullopt;
    }
    admitted.slot = Slot::health;
    ++health_;
  }
  admitted.id = ++next_id_;
  admitted.spoke = spoke;
  Entry entry{admitted.slot, client, 0, admitted.slot == Slot::health && !spoke};
  // A regular connection that spoke works from the start; every other one waits (evictable).
  if (admitted.slot == Slot::health || !spoke) {
    entry.waiting_since = ++next_order_;
    waiting_list(entry).emplace(entry.waiting_since, admitted.id);
  }
  entries_.emplace(admitted.id, entry);
  publish();
  return admitted;
}

std::optional<std::uint64_t> Admission::health_victim() const {
  // A silent one first: it has cost its peer nothing. Then the one that has had the longest to
  // finish its request.
  if (!health_silent_.empty()) {
    return health_silent_.begin()->second;
  }
  if (!health_waiting_.empty()) {
    return health_waiting_.begin()->second;
  }
  return std::nullopt;
}

void Admission::wait(std::uint64_t id) {
  const auto it = entries_.find(id);
  if (it == entries_.end() || it->second.waiting_since != 0) {
    return;
  }
  it->second.silent = false;  // it has been served, or its request is in
  it->second.waiting_since = ++next_order_;
  waiting_list(it->second).emplace(it->second.waiting_since, id);
  publish();
}

bool Admission::work(std::uint64_t id) {
  const auto it = entries_.find(id);
  if (it == entries_.end()) {
    return false;
  }
  if (it->second.waiting_since != 0) {
    waiting_list(it->second).erase(it->second.waiting_since);
    it->second.waiting_since = 0;
    it->second.silent = false;
    publish();
  }
  return true;
}

void Admission::release(std::uint64_t id) {
  const auto it = entries_.find(id);
  if (it != entries_.end()) {
    remove(it);
    publish();
  }
}

std::optional<std::uint64_t> Admission::oldest_idle_of(const ip::address& client) const {
  // Linear in the idle connections, and only when a client is at its limit.
  for (const auto& [order, id] : idle_) {
    if (entries_.at(id).client == client) {
      return id;
    }
  }
  return std::nullopt;
}

void Admission::evict(std::uint64_t id, std::vector<std::uint64_t>& evicted) {
  remove(entries_.find(id));
  evicted.push_back(id);
}

void Admission::remove(std::unordered_map<std::uint64_t, Entry>::iterator it) {
  const Entry& entry = it->second;
  if (entry.waiting_since != 0) {
    waiting_list(entry).erase(entry.waiting_since);
  }
  if (entry.slot == Slot::regular) {
    --regular_;
    const auto count = per_client_.find(entry.client);
    if (--count->second == 0) {
      per_client_.erase(count);
    }
  } else {
    --health_;
  }
  entries_.erase(it);
}

void Admission::publish() {
  stats_.connections_active = regular_;
  stats_.connections_idle = idle_.size();
  stats_.health_connections_active = health_;
}

}  // namespace nodepack::http::detail
