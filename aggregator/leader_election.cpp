#include "aggregator/leader_election.hpp"

#include "common/rfc3339.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json.hpp>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <random>

#include <unistd.h>

namespace nodepack::aggregator {
namespace {

namespace json = boost::json;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

std::string string_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::int64_t int_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_int64() ? v->get_int64() : 0;
}

std::optional<LeaseRecord> parse_lease(std::string_view body) {
  boost::system::error_code ec;
  auto value = json::parse(body, ec);
  if (ec || !value.is_object()) {
    return std::nullopt;
  }
  const auto& o = value.get_object();
  LeaseRecord r;
  if (const auto* m = o.if_contains("metadata"); m != nullptr && m->is_object()) {
    r.resource_version = string_at(m->get_object(), "resourceVersion");
  }
  if (const auto* s = o.if_contains("spec"); s != nullptr && s->is_object()) {
    const auto& spec = s->get_object();
    r.holder = string_at(spec, "holderIdentity");
    r.lease_duration_seconds = int_at(spec, "leaseDurationSeconds");
    r.acquire_time = string_at(spec, "acquireTime");
    r.renew_time = string_at(spec, "renewTime");
    r.transitions = int_at(spec, "leaseTransitions");
  }
  return r;
}

// client-go's wait.Jitter(retryPeriod, 1.2): up to 20 % more, so replicas do not retry in step.
milliseconds jittered(std::chrono::nanoseconds period) {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  std::uniform_real_distribution<double> extra(0.0, 0.2);
  const auto base = duration_cast<milliseconds>(period);
  return base + milliseconds(static_cast<std::int64_t>(static_cast<double>(base.count()) * extra(random)));
}

}  // namespace

std::string format_micro_time(std::chrono::system_clock::time_point t) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(t);
  const auto micros = duration_cast<std::chrono::microseconds>(t - seconds).count();
  const std::time_t tt = std::chrono::system_clock::to_time_t(seconds);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char text[40];
  const auto n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(text + n, sizeof text - n, ".%06lldZ", static_cast<long long>(micros));
  return text;
}

std::string default_lease_namespace() {
  if (const char* env = std::getenv("POD_NAMESPACE"); env != nullptr && *env != '\0') {
    return env;
  }
  std::ifstream file("/var/run/secrets/kubernetes.io/serviceaccount/namespace");
  std::string ns;
  if (file && std::getline(file, ns) && !ns.empty()) {
    return ns;
  }
  return "nodepack";
}

std::string default_leader_identity() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') {
    std::snprintf(host, sizeof host, "nodepack-aggregator");
  }
  std::mt19937_64 random{std::random_device{}()};
  char suffix[20];
  std::snprintf(suffix, sizeof suffix, "_%08llx", static_cast<unsigned long long>(random() & 0xffffffffULL));
  return std::string(host) + suffix;
}

LeaderElector::LeaderElector(kube::ApiClient& client, LeaderElectionOptions options, const Clock& clock,
                             std::function<void(bool)> on_change)
    : client_(client), options_(std::move(options)), clock_(clock), on_change_(std::move(on_change)) {}

std::string LeaderElector::lease_path() const {
  return "/apis/coordination.k8s.io/v1/namespaces/" + options_.lease_namespace + "/leases";
}

std::string LeaderElector::lease_body(const LeaseRecord& r) const {
  json::object metadata{{"name", options_.lease_name}, {"namespace", options_.lease_namespace}};
  if (!r.resource_version.empty()) {
    metadata["resourceVersion"] = r.resource_version;  // the update is refused (409) if it moved on
  }
  return json::serialize(json::object{{"apiVersion", "coordination.k8s.io/v1"},
                                      {"kind", "Lease"},
                                      {"metadata", std::move(metadata)},
                                      {"spec",
                                       {{"holderIdentity", r.holder},
                                        {"leaseDurationSeconds", r.lease_duration_seconds},
                                        {"acquireTime", r.acquire_time},
                                        {"renewTime", r.renew_time},
                                        {"leaseTransitions", r.transitions}}}});
}

void LeaderElector::observe(const LeaseRecord& record) {
  std::lock_guard lock(mutex_);
  if (!observed_ || !observed_->same_record(record)) {
    observed_at_ = clock_.steady_now();  // a change, seen now: the lease duration counts from here
  }
  observed_ = record;
}

void LeaderElector::set_leading(bool leading) {
  if (leading_.exchange(leading) == leading) {
    return;
  }
  if (leading) {
    std::lock_guard lock(mutex_);
    ++transitions_seen_;
  }
  spdlog::info("leader election: {} {} the lease {}/{}", options_.identity, leading ? "now holds" : "stepped down from",
               options_.lease_namespace, options_.lease_name);
  if (on_change_) {
    on_change_(leading);
  }
}

boost::asio::awaitable<bool> LeaderElector::try_acquire_or_renew(milliseconds timeout) {
  namespace http = boost::beast::http;
  const auto now = clock_.now();
  const std::string name_path = lease_path() + "/" + options_.lease_name;
  auto got = co_await client_.get(name_path, timeout, 64 * 1024);
  if (!got) {
    std::lock_guard lock(mutex_);
    last_error_ = "GET lease: " + got.error().message;
    co_return false;
  }
  LeaseRecord next;
  next.holder = options_.identity;
  next.lease_duration_seconds = duration_cast<std::chrono::seconds>(options_.lease_duration).count();
  next.renew_time = format_micro_time(now);
  if (got->status == 404) {
    next.acquire_time = next.renew_time;
    auto created = co_await client_.send(http::verb::post, lease_path(), lease_body(next), timeout);
    if (!created || (created->status != 200 && created->status != 201)) {
      std::lock_guard lock(mutex_);
      last_error_ = created ? "create lease: status " + std::to_string(created->status) : created.error().message;
      co_return false;
    }
    if (auto stored = parse_lease(created->body)) {
      observe(*stored);
    }
    co_return true;
  }
  if (got->status != 200) {
    std::lock_guard lock(mutex_);
    last_error_ = "GET lease: status " + std::to_string(got->status);
    co_return false;
  }
  auto current = parse_lease(got->body);
  if (!current) {
    std::lock_guard lock(mutex_);
    last_error_ = "GET lease: not a Lease";
    co_return false;
  }
  observe(*current);
  const bool mine = current->holder == options_.identity;
  if (!current->holder.empty() && !mine) {
    const auto duration = std::chrono::seconds(current->lease_duration_seconds > 0 ? current->lease_duration_seconds
                                                                                   : next.lease_duration_seconds);
    std::chrono::steady_clock::time_point observed_at;
    {
      std::lock_guard lock(mutex_);
      observed_at = observed_at_;
    }
    if (clock_.steady_now() < observed_at + duration) {
      co_return false;  // held, and renewed within its duration as far as we have seen
    }
  }
  if (mine) {
    next.acquire_time = current->acquire_time;
    next.transitions = current->transitions;
  } else {
    next.acquire_time = next.renew_time;
    next.transitions = current->transitions + 1;
  }
  next.resource_version = current->resource_version;
  auto updated = co_await client_.send(http::verb::put, name_path, lease_body(next), timeout);
  if (!updated || updated->status != 200) {
    std::lock_guard lock(mutex_);
    last_error_ = updated ? "update lease: status " + std::to_string(updated->status) +
                                (updated->status == 409 ? " (another replica wrote it first)" : "")
                          : updated.error().message;
    co_return false;
  }
  if (auto stored = parse_lease(updated->body)) {
    observe(*stored);
  }
  {
    std::lock_guard lock(mutex_);
    last_error_.clear();
    last_renew_ = now;
  }
  co_return true;
}

boost::asio::awaitable<void> LeaderElector::run() {
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
  const auto retry = duration_cast<milliseconds>(options_.retry_period);
  for (;;) {
    // Acquire: try every retry period (jittered) until the Lease is ours.
    for (;;) {
      const bool acquired = co_await try_acquire_or_renew(retry);
      if (acquired) {
        break;
      }
      timer.expires_after(jittered(options_.retry_period));
      co_await timer.async_wait(boost::asio::use_awaitable);
    }
    auto renewed_at = clock_.steady_now();
    set_leading(true);
    // Renew every retry period; step down once the renew deadline passes without a renewal, which
    // is before the lease duration ends and another replica may take the Lease.
    while (leading()) {
      timer.expires_after(retry);
      co_await timer.async_wait(boost::asio::use_awaitable);
      const auto left = duration_cast<milliseconds>(renewed_at + options_.renew_deadline - clock_.steady_now());
      if (left > milliseconds(0)) {
        const bool renewed = co_await try_acquire_or_renew(std::min(left, retry));
        if (renewed) {
          renewed_at = clock_.steady_now();
          continue;
        }
      }
      if (clock_.steady_now() >= renewed_at + options_.renew_deadline) {
        std::string why;
        {
          std::lock_guard lock(mutex_);
          why = last_error_;
        }
        spdlog::warn("leader election: no renewal within the renew deadline ({}); stepping down",
                     why.empty() ? "the Lease is held by another replica" : why);
        set_leading(false);
      }
    }
  }
}

json::object LeaderElector::json() const {
  std::lock_guard lock(mutex_);
  json::object out{{"enabled", true},
                   {"leading", leading_.load()},
                   {"identity", options_.identity},
                   {"lease", options_.lease_namespace + "/" + options_.lease_name},
                   {"holder", observed_ ? json::value(observed_->holder) : json::value(nullptr)},
                   {"last_renew", last_renew_ ? json::value(format_rfc3339(*last_renew_)) : json::value(nullptr)},
                   {"times_leading", transitions_seen_},
                   {"last_error", last_error_}};
  return out;
}

}  // namespace nodepack::aggregator
