#include "agent/accounting/request_integrator.hpp"

#include "common/rfc3339.hpp"
#include "kube/pod_requests.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <set>

namespace nodepack::agent::accounting {
namespace {

std::optional<kube::Quantity> positive(const kube::ResourceList& list, std::string_view name) {
  auto it = list.find(name);
  if (it == list.end() || !(it->second > kube::Quantity())) {
    return std::nullopt;
  }
  return it->second;
}

kube::Quantity value_or_zero(const kube::ResourceList& list, std::string_view name) {
  return positive(list, name).value_or(kube::Quantity());
}

void apply_stored(ContainerAccount& a, const StoredContainer& s, TimePoint now) {
  // set_restore clamped against the time of reading; a clock stepping back again since then
  // must not freeze the counters either.
  a.integrated_until = std::min(s.integrated_until, now);
  a.cpu_requested = s.cpu_requested;
  a.has_cpu_limit = s.cpu_limited.has_value();
  a.cpu_limited = s.cpu_limited.value_or(ExactIntegral());
  a.memory_requested = s.memory_requested;
  a.has_memory_used = s.memory_used.has_value();
  a.memory_used = s.memory_used.value_or(ExactIntegral());
  a.gpu_seconds = s.gpu_seconds;
  a.restored = true;
}

StoredContainer to_stored(const ContainerAccount& a) {
  StoredContainer s;
  s.pod_uid = a.pod_uid;
  s.container = a.container;
  s.namespace_name = a.namespace_name;
  s.pod = a.pod;
  s.integrated_until = a.integrated_until;
  s.cpu_requested = a.cpu_requested;
  if (a.has_cpu_limit) {
    s.cpu_limited = a.cpu_limited;
  }
  s.memory_requested = a.memory_requested;
  if (a.has_memory_used) {
    s.memory_used = a.memory_used;
  }
  s.gpu_seconds = a.gpu_seconds;
  return s;
}

}  // namespace

ContainerRates container_rates(const kube::Pod& pod, const kube::Container& container, bool is_init) {
  ContainerRates r;
  const kube::ResourceList requests = kube::container_requests(pod, container, is_init);
  r.cpu_request = value_or_zero(requests, "cpu");
  r.memory_request = value_or_zero(requests, "memory");
  // The limits in force are the actuated ones while a resize is pending; the spec's otherwise.
  const kube::ContainerStatus* status = pod.find_status(container.name);
  const kube::ResourceList* limits = &container.limits;
  if (status != nullptr && status->resources && status->resources->limits) {
    limits = &*status->resources->limits;
  }
  r.cpu_limit = positive(*limits, "cpu");
  r.memory_limit = positive(*limits, "memory");
  return r;
}

ContainerRates pod_level_rates(const kube::Pod& pod) {
  ContainerRates r;
  kube::ResourceList extra = pod.overhead;
  if (pod.pod_level_requests) {
    kube::ResourceList containers;
    for (const auto& c : pod.containers) {
      kube::add_into(containers, kube::container_requests(pod, c, false));
    }
    for (const auto& c : pod.init_containers) {
      if (c.is_sidecar()) {
        kube::add_into(containers, kube::container_requests(pod, c, true));
      }
    }
    for (const char* resource : {"cpu", "memory"}) {
      const auto pod_level = value_or_zero(*pod.pod_level_requests, resource);
      const auto sum = value_or_zero(containers, resource);
      if (pod_level > sum) {
        kube::add_into(extra, kube::ResourceList{{resource, pod_level - sum}});
      }
    }
  }
  r.cpu_request = value_or_zero(extra, "cpu");
  r.memory_request = value_or_zero(extra, "memory");
  return r;
}

boost::json::array accounts_json(const std::vector<ContainerAccount>& accounts) {
  boost::json::array out;
  for (const auto& a : accounts) {
    boost::json::object o;
    o["namespace"] = a.namespace_name;
    o["pod"] = a.pod;
    o["container"] = a.container;
    o["pod_uid"] = a.pod_uid;
    o["charging"] = a.charging;
    o["restored"] = a.restored;
    o["integrated_until"] = format_rfc3339(a.integrated_until);
    o["ended"] = a.ended ? boost::json::value(format_rfc3339(*a.ended)) : boost::json::value(nullptr);
    o["cpu_request"] = a.rates.cpu_request.to_string();
    o["cpu_limit"] = a.rates.cpu_limit ? boost::json::value(a.rates.cpu_limit->to_string()) : nullptr;
    o["memory_request"] = a.rates.memory_request.to_string();
    o["memory_limit"] = a.rates.memory_limit ? boost::json::value(a.rates.memory_limit->to_string()) : nullptr;
    o["cpu_requested_core_seconds"] = a.cpu_requested.to_string();
    if (a.has_cpu_limit) {
      o["cpu_limited_core_seconds"] = a.cpu_limited.to_string();
    }
    o["memory_requested_byte_seconds"] = a.memory_requested.to_string();
    if (a.has_memory_used) {
      o["memory_used_byte_seconds"] = a.memory_used.to_string();
    }
    boost::json::object gpus;
    for (const auto& [resource, value] : a.gpu_seconds) {
      gpus[resource] = value.to_string();
    }
    o["gpu_allocated_seconds"] = std::move(gpus);
    out.push_back(std::move(o));
  }
  return out;
}

RequestIntegrator::RequestIntegrator(std::chrono::nanoseconds retention) : retention_(retention) {}

void RequestIntegrator::integrate(ContainerAccount& a, TimePoint now) {
  if (now <= a.integrated_until) {
    return;  // never move back: a clock that stepped back would integrate an interval twice
  }
  const auto dt = std::chrono::duration_cast<std::chrono::nanoseconds>(now - a.integrated_until);
  a.integrated_until = now;
  if (!a.charging) {
    return;
  }
  a.cpu_requested.add(a.rates.cpu_request.nanos(), dt);
  if (a.rates.cpu_limit) {
    a.cpu_limited.add(a.rates.cpu_limit->nanos(), dt);
  }
  a.memory_requested.add(a.rates.memory_request.nanos(), dt);
  for (const auto& [resource, count] : a.rates.gpus) {
    a.gpu_seconds[resource].add(kube::Quantity::from_units(count).nanos(), dt);
  }
}

bool RequestIntegrator::observe_locked(const kube::Pod& pod, TimePoint now) {
  const bool pod_active = kube::pod_counts_toward_node(pod);
  bool changed = false;
  std::set<std::string> seen;
  // `status` is null for the pod-level account, which never "runs" by itself.
  auto visit = [&](const std::string& name, ContainerRates rates, bool charging, const kube::ContainerStatus* status) {
    seen.insert(name);
    const ContainerKey key{pod.uid, name};
    const bool running = status != nullptr && status->state == "running";

    auto it = accounts_.find(key);
    const bool is_new = it == accounts_.end();
    const StoredContainer* stored = nullptr;
    if (is_new && pending_restore_) {
      if (auto s = pending_restore_->find(key); s != pending_restore_->end()) {
        stored = &s->second;
      }
    }
    if (is_new && !pod_active && stored == nullptr) {
      return;  // a finished pod seen for the first time held nothing while we watched
    }
    if (is_new) {
      it = accounts_.emplace(key, ContainerAccount{}).first;
      it->second.integrated_until = now;
      if (stored != nullptr) {
        apply_stored(it->second, *stored, now);
        ++restored_;
      }
    }
    ContainerAccount& a = it->second;
    rates.gpus = a.rates.gpus;  // devices come from the checkpoint, not the pod
    changed = changed || is_new || a.charging != charging || !(a.rates == rates);
    if (is_new) {
      // A restored container's downtime is integrated with what it holds now: the agent cannot
      // know what changed while it was not running.
      a.rates = std::move(rates);
      a.charging = charging;
      integrate(a, now);
    } else {
      integrate(a, now);
      a.rates = std::move(rates);
      a.charging = charging;
    }
    a.namespace_name = pod.namespace_name;
    a.pod = pod.name;
    a.container = name;
    a.pod_uid = pod.uid;
    a.has_cpu_limit = a.has_cpu_limit || a.rates.cpu_limit.has_value();
    a.running_since.reset();
    if (running && !status->started_at.empty()) {
      a.running_since = parse_rfc3339(status->started_at);
    }
    if (!pod_active && !a.ended) {
      a.ended = now;
    }
  };
  auto visit_container = [&](const kube::Container& c, bool is_init) {
    const kube::ContainerStatus* status = pod.find_status(c.name);
    const bool running = status != nullptr && status->state == "running";
    visit(c.name, container_rates(pod, c, is_init), pod_active && (!is_init || c.is_sidecar() || running), status);
  };
  for (const auto& c : pod.init_containers) {
    visit_container(c, true);
  }
  for (const auto& c : pod.containers) {
    visit_container(c, false);
  }
  // What the pod holds beyond its containers: overhead, and pod-level requests above their sum.
  ContainerRates pod_rates = pod_level_rates(pod);
  if (pod_rates.cpu_request > kube::Quantity() || pod_rates.memory_request > kube::Quantity() ||
      accounts_.contains(ContainerKey{pod.uid, std::string(pod_account_name)})) {
    visit(std::string(pod_account_name), std::move(pod_rates), pod_active, nullptr);
  }
  // Containers the pod no longer names (an ephemeral edit, a replaced spec) stop here.
  for (auto it = accounts_.lower_bound(ContainerKey{pod.uid, ""});
       it != accounts_.end() && it->first.pod_uid == pod.uid; ++it) {
    if (!seen.contains(it->first.container)) {
      changed = changed || it->second.charging;
      integrate(it->second, now);
      it->second.charging = false;
      it->second.running_since.reset();
      if (!it->second.ended) {
        it->second.ended = now;
      }
    }
  }
  return changed;
}

bool RequestIntegrator::end_pod_locked(const std::string& uid, TimePoint now) {
  bool changed = false;
  for (auto it = accounts_.lower_bound(ContainerKey{uid, ""}); it != accounts_.end() && it->first.pod_uid == uid;
       ++it) {
    ContainerAccount& a = it->second;
    changed = changed || a.charging;
    integrate(a, now);
    a.charging = false;
    a.running_since.reset();
    if (!a.ended) {
      a.ended = now;
    }
  }
  return changed;
}

bool RequestIntegrator::pod_upserted(const kube::Pod& pod, TimePoint now) {
  std::lock_guard lock(mutex_);
  return observe_locked(pod, now);
}

bool RequestIntegrator::pod_removed(const std::string& uid, TimePoint now) {
  std::lock_guard lock(mutex_);
  return end_pod_locked(uid, now);
}

bool RequestIntegrator::pods_replaced(const std::vector<kube::Pod>& pods, TimePoint now) {
  std::lock_guard lock(mutex_);
  bool changed = false;
  std::set<std::string> present;
  for (const auto& pod : pods) {
    present.insert(pod.uid);
    changed = observe_locked(pod, now) || changed;
  }
  std::set<std::string> gone;
  for (const auto& [key, a] : accounts_) {
    if (!present.contains(key.pod_uid)) {
      gone.insert(key.pod_uid);
    }
  }
  for (const auto& uid : gone) {
    changed = end_pod_locked(uid, now) || changed;
  }
  pending_restore_.reset();  // containers not in the list are gone: their stored values go too
  return changed;
}

void RequestIntegrator::set_gpu_allocations(
    const std::map<ContainerKey, std::map<std::string, std::int64_t>>& allocations, TimePoint now) {
  std::lock_guard lock(mutex_);
  for (auto& [key, a] : accounts_) {
    integrate(a, now);
    auto it = allocations.find(key);
    a.rates.gpus = it == allocations.end() ? std::map<std::string, std::int64_t>{} : it->second;
    for (const auto& [resource, count] : a.rates.gpus) {
      a.gpu_seconds.try_emplace(resource);  // the counter exists from the first allocation on
    }
  }
}

void RequestIntegrator::add_memory_sample(const ContainerKey& key, std::uint64_t bytes, TimePoint now) {
  std::lock_guard lock(mutex_);
  add_memory_sample_locked(key, bytes, now);
}

void RequestIntegrator::add_memory_round(const std::vector<std::pair<ContainerKey, std::uint64_t>>& samples,
                                         TimePoint now) {
  std::lock_guard lock(mutex_);
  std::set<ContainerKey> sampled;
  for (const auto& [key, bytes] : samples) {
    sampled.insert(key);
    add_memory_sample_locked(key, bytes, now);
  }
  for (auto& [key, a] : accounts_) {
    if (!sampled.contains(key)) {
      a.last_memory_sample.reset();
    }
  }
}

void RequestIntegrator::add_memory_sample_locked(const ContainerKey& key, std::uint64_t bytes, TimePoint now) {
  auto it = accounts_.find(key);
  if (it == accounts_.end() || it->second.ended) {
    return;
  }
  ContainerAccount& a = it->second;
  a.has_memory_used = true;
  if (a.last_memory_sample && now > a.last_memory_sample->first) {
    const auto dt = std::chrono::duration_cast<std::chrono::nanoseconds>(now - a.last_memory_sample->first);
    // Trapezoid: (previous + current) / 2 × dt, in nano-byte-nanoseconds: (p + c) × 5e8 × dt.
    const Int128 sum = Int128{a.last_memory_sample->second} + Int128{bytes};
    a.memory_used.add_raw(sum * 500'000'000 * Int128{dt.count()});
  }
  if (!a.last_memory_sample || now > a.last_memory_sample->first) {
    a.last_memory_sample = std::make_pair(now, bytes);
  }
}

RequestIntegrator::RestoreReport RequestIntegrator::set_restore(std::vector<StoredContainer> stored, TimePoint now) {
  std::lock_guard lock(mutex_);
  RestoreReport report;
  pending_restore_.emplace();
  for (auto& s : stored) {
    if (s.integrated_until > now) {
      ++report.clamped;
      report.ahead =
          std::max(report.ahead, std::chrono::duration_cast<std::chrono::nanoseconds>(s.integrated_until - now));
      s.integrated_until = now;
    }
    ContainerKey key{s.pod_uid, s.container};
    pending_restore_->insert_or_assign(std::move(key), std::move(s));
  }
  return report;
}

std::size_t RequestIntegrator::restored_count() const {
  std::lock_guard lock(mutex_);
  return restored_;
}

std::vector<ContainerAccount> RequestIntegrator::snapshot(TimePoint now) {
  std::vector<ContainerAccount> out;
  for_each_account(now, [&](const ContainerAccount& a) { out.push_back(a); });
  return out;
}

std::vector<StoredContainer> RequestIntegrator::to_store(TimePoint now) {
  std::lock_guard lock(mutex_);
  std::vector<StoredContainer> out;
  for (auto& [key, a] : accounts_) {
    integrate(a, now);
    out.push_back(to_stored(a));
  }
  if (pending_restore_) {
    for (const auto& [key, s] : *pending_restore_) {
      if (!accounts_.contains(key)) {
        out.push_back(s);
      }
    }
  }
  return out;
}

}  // namespace nodepack::agent::accounting
