#pragma once

// High availability as KBE has it: replicas elect a leader through a coordination.k8s.io/v1 Lease,
// with client-go's leaderelection semantics.
//  - Optimistic concurrency: the Lease is updated with the resourceVersion it was read at; a 409
//    means another replica wrote first, and this one is not the leader.
//  - A Lease held by another replica is taken only once its record has not changed for the lease
//    duration, measured on this replica's own clock from when it observed the record (never by
//    comparing renewTime with the local clock: clocks may be skewed).
//  - A leader that cannot renew within the renew deadline steps down, which is before the lease
//    duration runs out, so the next leader starts after this one stopped (renew deadline <
//    lease duration is enforced at start-up).
// Followers keep serving the web UI, the usage API and /sync (they are reads); only the leader
// exports the cluster series, so two replicas never double a sum.

#include "common/clock.hpp"
#include "kube/api_client.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

namespace nodepack::aggregator {

struct LeaderElectionOptions {
  std::chrono::nanoseconds lease_duration = std::chrono::seconds(15);
  std::chrono::nanoseconds renew_deadline = std::chrono::seconds(10);
  std::chrono::nanoseconds retry_period = std::chrono::seconds(2);
  std::string lease_namespace;  // where the Lease lives
  std::string lease_name;
  std::string identity;  // this replica: its pod name and a random suffix
};

// The holder record of a Lease's spec, as client-go's LeaderElectionRecord.
struct LeaseRecord {
  std::string holder;
  std::int64_t lease_duration_seconds = 0;
  std::string acquire_time;  // MicroTime text, kept as read
  std::string renew_time;
  std::int64_t transitions = 0;
  std::string resource_version;

  bool same_record(const LeaseRecord& other) const {
    return holder == other.holder && lease_duration_seconds == other.lease_duration_seconds &&
           acquire_time == other.acquire_time && renew_time == other.renew_time && transitions == other.transitions;
  }
};

class LeaderElector {
 public:
  // `on_change(leading)` runs on the elector's executor whenever this replica starts or stops leading.
  LeaderElector(kube::ApiClient& client, LeaderElectionOptions options, const Clock& clock,
                std::function<void(bool)> on_change);

  bool leading() const { return leading_.load(); }
  // For /sync: identity, lease, whether leading, the holder last observed and when.
  boost::json::object json() const;

  // Runs until the executor stops: acquire, then renew until that fails for the renew deadline,
  // then try to acquire again.
  boost::asio::awaitable<void> run();

 private:
  // One attempt, bounded by `timeout`; true when this replica holds the Lease afterwards.
  boost::asio::awaitable<bool> try_acquire_or_renew(std::chrono::milliseconds timeout);
  void set_leading(bool leading);
  void observe(const LeaseRecord& record);
  std::string lease_path() const;
  std::string lease_body(const LeaseRecord& record) const;

  kube::ApiClient& client_;
  LeaderElectionOptions options_;
  const Clock& clock_;
  std::function<void(bool)> on_change_;
  std::atomic<bool> leading_{false};
  mutable std::mutex mutex_;  // guards what json() reads
  std::optional<LeaseRecord> observed_;
  std::chrono::steady_clock::time_point observed_at_{};
  std::optional<std::chrono::system_clock::time_point> last_renew_;
  std::string last_error_;
  std::uint64_t transitions_seen_ = 0;  // times this replica started leading
};

// A MicroTime as the API server writes it: RFC 3339 with microseconds, UTC.
std::string format_micro_time(std::chrono::system_clock::time_point t);
// The pod's own namespace: $POD_NAMESPACE, else the service account's namespace file, else "nodepack".
std::string default_lease_namespace();
// The default identity: the host name (the pod's name in a cluster) and a random suffix.
std::string default_leader_identity();

}  // namespace nodepack::aggregator
