#pragma once

// Which connections the server keeps: the slot policy of ServerLimits, without sockets. The
// listener asks it for a slot at each accept; sessions tell it when they wait for a request (and may
// be closed to make room) and when they work on one. Not thread-safe: ServerState guards it.

#include "http/server.hpp"

#include <boost/asio/ip/address.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

namespace nodepack::http::detail {

enum class Slot {
  regular,  // any request, keep-alive
  health,   // one request, answered only for a health path
};

struct Admitted {
  std::uint64_t id = 0;
  Slot slot = Slot::regular;
  bool spoke = false;  // its first bytes were waiting at accept
  // Connections that lost their slot to this one; the caller closes them.
  std::vector<std::uint64_t> evicted;
};

class Admission {
 public:
  Admission(const ServerLimits& limits, ServerStats& stats) : limits_(limits), stats_(stats) {}

  // A slot for a new connection from `client`, evicting one evictable connection if that makes
  // room. nullopt: no slot; close the socket at once. A silent connection (no byte waiting at
  // accept) starts evictable: it costs its peer nothing to lose. One whose first bytes are already
  // there (`spoke`: a probe or a scraper sends its request, or its TLS hello, as it connects) starts
  // working, so a flood of silent sockets arriving faster than the server reads cannot push it out
  // before it is read. In the health slots, silent connections are closed before ones that spoke.
  std::optional<Admitted> admit(const boost::asio::ip::address& client, bool spoke = false);
  // The connection waits: a regular one for its next request, a health one for its request or
  // after its reply. It may now be evicted (oldest first). No-op if it already waits.
  void wait(std::uint64_t id);
  // The connection works (a request started, or a health request is in): not evictable until it
  // waits again. False: it was evicted meanwhile and must close.
  bool work(std::uint64_t id);
  // The connection is gone; its slot is free (no-op once evicted).
  void release(std::uint64_t id);

 private:
  struct Entry {
    Slot slot;
    boost::asio::ip::address client;
    std::uint64_t waiting_since = 0;  // key in its waiting list; 0: working
    bool silent = false;              // a health connection that has sent nothing yet (in health_silent_)
  };
  using Waiting = std::map<std::uint64_t, std::uint64_t>;  // order of waiting -> id, oldest first

  Waiting& waiting_list(const Entry& entry) {
    return entry.slot == Slot::regular ? idle_ : entry.silent ? health_silent_ : health_waiting_;
  }
  std::optional<std::uint64_t> health_victim() const;
  std::optional<std::uint64_t> oldest_idle_of(const boost::asio::ip::address& client) const;
  void evict(std::uint64_t id, std::vector<std::uint64_t>& evicted);
  void remove(std::unordered_map<std::uint64_t, Entry>::iterator it);
  void publish();

  const ServerLimits& limits_;
  ServerStats& stats_;
  std::unordered_map<std::uint64_t, Entry> entries_;
  Waiting idle_;                                                // regular connections waiting for a request
  Waiting health_silent_;                                       // health connections that have sent nothing
  Waiting health_waiting_;                                      // health connections waiting for their request, or done
  std::map<boost::asio::ip::address, std::size_t> per_client_;  // regular connections per address
  std::size_t regular_ = 0;
  std::size_t health_ = 0;
  std::uint64_t next_id_ = 0;
  std::uint64_t next_order_ = 0;
};

// The address a per-client limit counts: IPv4-mapped IPv6 (a dual-stack listener's IPv4 peers)
// as plain IPv4, so one peer is one key whichever way it arrived.
boost::asio::ip::address client_key(const boost::asio::ip::address& address);

}  // namespace nodepack::http::detail
