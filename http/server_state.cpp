// The server's book of connections: admission under one mutex, the sessions to close on stop.

#include "http/server_state.hpp"

#include <algorithm>
#include <vector>

namespace nodepack::http::detail {

namespace {

// Room above the slots for evicted sockets that are still closing on their own strands.
constexpr std::size_t eviction_room = 16;

}  // namespace

std::optional<Admitted> ServerState::admit(const boost::asio::ip::address& client, bool spoke) {
  // Released after the lock: a session's destructor takes it.
  std::vector<std::shared_ptr<Connection>> victims;
  std::optional<Admitted> admitted;
  {
    std::lock_guard lock(mutex_);
    const std::size_t ceiling =
        std::max(limits.max_sockets, limits.max_connections + limits.health_connections + eviction_room);
    if (stopped_ || sessions_.size() >= ceiling) {
      return std::nullopt;
    }
    admitted = admission_.admit(client, spoke);
    if (!admitted) {
      return std::nullopt;
    }
    for (const auto id : admitted->evicted) {
      if (auto it = sessions_.find(id); it != sessions_.end()) {
        if (auto session = it->second.lock()) {
          victims.push_back(std::move(session));
        }
      }
    }
  }
  for (auto& victim : victims) {
    victim->close();
  }
  return admitted;
}

bool ServerState::attach(std::uint64_t id, const std::shared_ptr<Connection>& session) {
  std::lock_guard lock(mutex_);
  if (stopped_) {
    return false;
  }
  sessions_.emplace(id, session);
  stats.sockets_open = sessions_.size();
  return true;
}

void ServerState::wait(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  admission_.wait(id);
}

bool ServerState::work(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  return admission_.work(id);
}

void ServerState::release(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  admission_.release(id);
  sessions_.erase(id);
  stats.sockets_open = sessions_.size();
}

void ServerState::stop() {
  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    for (auto& [id, weak] : sessions_) {
      if (auto session = weak.lock()) {
        open.push_back(std::move(session));
      }
    }
  }
  // The acceptor belongs to its strand; close it there.
  boost::asio::post(acceptor_strand, [self = shared_from_this()] {
    boost::system::error_code ec;
    self->acceptor.close(ec);
  });
  for (auto& session : open) {
    session->close();
  }
  // Sessions released here may run their destructors, which take the mutex: it is not held.
}

}  // namespace nodepack::http::detail
