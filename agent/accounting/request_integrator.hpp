#pragma once

// Per-container usage integrals driven by pod events. Requests and limits are piecewise constant
// between events, so integrating (now - last change) × value at every event and at every scrape
// is exact; memory usage is sampled and integrated with the trapezoid rule.
//
// Who is charged, per container, while its pod is bound and neither Succeeded nor Failed:
//   - regular containers and sidecars (init containers with restartPolicy Always): always, from
//     the first time the agent sees the pod, because the scheduler reserved their requests;
//   - regular init containers: only while their status says running; one that ran to
//     completion is not charged any more;
//   - the pod itself (container "POD"): its overhead and pod-level requests above the sum of
//     its containers', when there are any.
// A pod that finishes or is deleted stops accruing at that event; its series stay exported for
// `retention` so Prometheus scrapes the final value, then go.

#include "agent/accounting/exact_integral.hpp"
#include "agent/accounting/state_file.hpp"
#include "kube/pod.hpp"
#include "kube/quantity.hpp"

#include <boost/json/array.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace nodepack::agent::accounting {

using TimePoint = std::chrono::system_clock::time_point;

struct ContainerKey {
  std::string pod_uid;
  std::string container;
  friend auto operator<=>(const ContainerKey&, const ContainerKey&) = default;
};

// What one container holds right now.
struct ContainerRates {
  kube::Quantity cpu_request;
  std::optional<kube::Quantity> cpu_limit;  // only a set, non-zero limit
  kube::Quantity memory_request;
  std::optional<kube::Quantity> memory_limit;
  std::map<std::string, std::int64_t> gpus;  // resource -> devices allocated
  friend bool operator==(const ContainerRates&, const ContainerRates&) = default;
};

struct ContainerAccount {
  std::string namespace_name;
  std::string pod;
  std::string container;
  std::string pod_uid;
  bool charging = false;
  ContainerRates rates;
  std::optional<TimePoint> running_since;  // state.running.startedAt
  TimePoint integrated_until;
  std::optional<TimePoint> ended;  // pod finished or deleted: no more accrual, exported until retention
  bool restored = false;

  ExactIntegral cpu_requested;
  ExactIntegral cpu_limited;
  bool has_cpu_limit = false;  // a limit was seen once: the counter exists from then on
  ExactIntegral memory_requested;
  ExactIntegral memory_used;
  bool has_memory_used = false;
  std::map<std::string, ExactIntegral> gpu_seconds;
  std::optional<std::pair<TimePoint, std::uint64_t>> last_memory_sample;
};

// The pseudo container that carries what a pod holds beyond its containers: spec.overhead
// (RuntimeClass) and pod-level requests (spec.resources) above the sum of its containers'. Named
// like cAdvisor's sandbox container; Kubernetes container names are lower case, so it cannot
// clash with a real one. Charged while the pod is active, only when not zero.
inline constexpr std::string_view pod_account_name = "POD";
ContainerRates pod_level_rates(const kube::Pod& pod);

// The requests and limits the accounting charges a container for: the per-container effective
// requests (in-place resize allocated/actuated included, as the scheduler counts them) and the
// actuated limits where the kubelet reports them, else the spec's.
ContainerRates container_rates(const kube::Pod& pod, const kube::Container& container, bool is_init);

// The accounts with their exact integrals as decimal strings, for /debug/accounting.
boost::json::array accounts_json(const std::vector<ContainerAccount>& accounts);

class RequestIntegrator {
 public:
  explicit RequestIntegrator(std::chrono::nanoseconds retention = std::chrono::minutes(5));

  // Each returns whether some container's rate changed (started, stopped or another value): the
  // moment to persist, so that a restart never resumes a counter below what was scraped.
  bool pod_upserted(const kube::Pod& pod, TimePoint now);
  bool pod_removed(const std::string& uid, TimePoint now);
  bool pods_replaced(const std::vector<kube::Pod>& pods, TimePoint now);

  // Devices allocated per container (from the kubelet's device checkpoint), all containers at once.
  void set_gpu_allocations(const std::map<ContainerKey, std::map<std::string, std::int64_t>>& allocations,
                           TimePoint now);
  // memory.current of a container; ignored for containers the integrator does not know.
  void add_memory_sample(const ContainerKey& key, std::uint64_t bytes, TimePoint now);
  // One sampling round: every container's sample at once. A container missing from the round
  // (not running, its cgroup gone) starts a new trapezoid chain at its next sample, so the time
  // it had no cgroup is not bridged.
  void add_memory_round(const std::vector<std::pair<ContainerKey, std::uint64_t>>& samples, TimePoint now);

  // Counters to resume from. Applied when the first full pod list arrives: containers in it resume
  // (the gap from their stored time to that moment integrated with their requests then), the rest
  // are dropped. A stored time after `now` (the clock stepped back since it was written, or the
  // file came from a clock ahead of this one) is clamped to `now`: kept, it would stop the
  // container's counters until the clock caught up with it, silently. What was clamped is
  // returned for the caller to count and log.
  struct RestoreReport {
    std::size_t clamped = 0;            // containers whose time was ahead of `now`
    std::chrono::nanoseconds ahead{0};  // the largest such lead
  };
  RestoreReport set_restore(std::vector<StoredContainer> stored, TimePoint now);
  std::size_t restored_count() const;

  // Integrates everyone up to `now`, drops containers ended longer than the retention ago, and
  // returns the accounts (sorted by pod uid, container).
  std::vector<ContainerAccount> snapshot(TimePoint now);
  // As snapshot(), handing each account to f(const ContainerAccount&) under the lock instead of
  // copying them all: what every scrape reads. `f` must not call back into the integrator.
  template <class F>
  void for_each_account(TimePoint now, F&& f) {
    std::lock_guard lock(mutex_);
    // One walk integrates, prunes and visits: at every scrape hundreds of finished containers'
    // accounts are in the map, and each walk of its scattered nodes costs a cache miss or two
    // per node.
    for (auto it = accounts_.begin(); it != accounts_.end();) {
      if (it->second.ended && now - *it->second.ended > retention_) {
        it = accounts_.erase(it);
        continue;
      }
      integrate(it->second, now);
      f(std::as_const(it->second));
      ++it;
    }
  }
  // What the state file keeps: every account integrated up to `now`, plus restore entries not
  // applied yet (so a write before the first pod list loses nothing).
  std::vector<StoredContainer> to_store(TimePoint now);

 private:
  bool observe_locked(const kube::Pod& pod, TimePoint now);
  bool end_pod_locked(const std::string& uid, TimePoint now);
  void add_memory_sample_locked(const ContainerKey& key, std::uint64_t bytes, TimePoint now);
  static void integrate(ContainerAccount& a, TimePoint now);

  std::chrono::nanoseconds retention_;
  mutable std::mutex mutex_;
  std::map<ContainerKey, ContainerAccount> accounts_;
  std::optional<std::map<ContainerKey, StoredContainer>> pending_restore_;
  std::size_t restored_ = 0;
};

}  // namespace nodepack::agent::accounting
