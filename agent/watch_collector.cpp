#include "agent/watch_collector.hpp"

#include "agent/metric_families.hpp"

namespace nodepack::agent {

WatchCollector::WatchCollector(std::vector<const kube::Reflector*> reflectors, const kube::ApiClient& client)
    : reflectors_(std::move(reflectors)), client_(client) {}

std::vector<prometheus::MetricFamily> WatchCollector::Collect() const {
  using metrics::add_sample;
  using metrics::counter_family;
  using metrics::gauge_family;
  auto synced = gauge_family("nodepack_watch_synced", "1 once the resource's first list has been delivered.");
  auto failing = gauge_family("nodepack_watch_failing", "1 while the resource's list or watch is failing.");
  auto events = counter_family("nodepack_watch_events_total", "Watch events applied, by resource.");
  auto bookmarks = counter_family("nodepack_watch_bookmarks_total", "Watch bookmarks received, by resource.");
  auto lists = counter_family("nodepack_watch_lists_total", "Completed lists, by resource.");
  auto relists = counter_family("nodepack_watch_relists_expired_total",
                                "Relists because the resourceVersion expired (410 Gone), by resource.");
  auto errors = counter_family("nodepack_watch_errors_total", "Failed lists and watches, by resource.");
  auto decode =
      counter_family("nodepack_watch_decode_errors_total", "Objects or events rejected as malformed, by resource.");
  for (const auto* r : reflectors_) {
    const auto s = r->status();
    add_sample(synced, {{"resource", s.resource}}, s.synced ? 1 : 0);
    add_sample(failing, {{"resource", s.resource}}, s.failing_since ? 1 : 0);
    add_sample(events, {{"resource", s.resource}}, static_cast<double>(s.events));
    add_sample(bookmarks, {{"resource", s.resource}}, static_cast<double>(s.bookmarks));
    add_sample(lists, {{"resource", s.resource}}, static_cast<double>(s.lists));
    add_sample(relists, {{"resource", s.resource}}, static_cast<double>(s.relists_expired));
    add_sample(errors, {{"resource", s.resource}}, static_cast<double>(s.errors));
    add_sample(decode, {{"resource", s.resource}}, static_cast<double>(s.decode_errors));
  }
  auto requests = counter_family("nodepack_api_requests_total", "Requests sent to the Kubernetes API server.");
  add_sample(requests, {}, static_cast<double>(client_.counters().requests.load()));
  auto transport =
      counter_family("nodepack_api_transport_errors_total", "API requests that failed before an HTTP status arrived.");
  add_sample(transport, {}, static_cast<double>(client_.counters().errors.load()));
  return {std::move(synced),  std::move(failing), std::move(events), std::move(bookmarks), std::move(lists),
          std::move(relists), std::move(errors),  std::move(decode), std::move(requests),  std::move(transport)};
}

}  // namespace nodepack::agent
