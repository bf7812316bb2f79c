#include "kube/watch_collector.hpp"

#include "metrics/family.hpp"

namespace nodepack::kube {

WatchCollector::WatchCollector(std::vector<const Reflector*> reflectors, const ApiClient& client)
    : reflectors_(std::move(reflectors)), client_(client) {}

std::vector<prometheus::MetricFamily> WatchCollector::Collect() const {
  using metrics::Family;
  auto synced = Family::gauge("nodepack_watch_synced", "1 once the resource's first list has been delivered.");
  auto failing = Family::gauge("nodepack_watch_failing", "1 while the resource's list or watch is failing.");
  auto events = Family::counter("nodepack_watch_events_total", "Watch events applied, by resource.");
  auto bookmarks = Family::counter("nodepack_watch_bookmarks_total", "Watch bookmarks received, by resource.");
  auto lists = Family::counter("nodepack_watch_lists_total", "Completed lists, by resource.");
  auto relists = Family::counter("nodepack_watch_relists_expired_total",
                                 "Relists because the resourceVersion expired (410 Gone), by resource.");
  auto errors = Family::counter("nodepack_watch_errors_total", "Failed lists and watches, by resource.");
  auto decode =
      Family::counter("nodepack_watch_decode_errors_total", "Objects or events rejected as malformed, by resource.");
  auto too_large = Family::counter(
      "nodepack_watch_too_large_total",
      "Lists and watches abandoned because a list page or a watch event exceeded its bound, by resource.");
  for (const auto* r : reflectors_) {
    const auto s = r->status();
    synced.add({{"resource", s.resource}}, s.synced ? 1 : 0);
    failing.add({{"resource", s.resource}}, s.failing_since ? 1 : 0);
    events.add({{"resource", s.resource}}, static_cast<double>(s.events));
    bookmarks.add({{"resource", s.resource}}, static_cast<double>(s.bookmarks));
    lists.add({{"resource", s.resource}}, static_cast<double>(s.lists));
    relists.add({{"resource", s.resource}}, static_cast<double>(s.relists_expired));
    errors.add({{"resource", s.resource}}, static_cast<double>(s.errors));
    decode.add({{"resource", s.resource}}, static_cast<double>(s.decode_errors));
    too_large.add({{"resource", s.resource}}, static_cast<double>(s.too_large));
  }
  auto requests = Family::counter("nodepack_api_requests_total", "Requests sent to the Kubernetes API server.");
  requests.add({}, static_cast<double>(client_.counters().requests.load()));
  auto transport =
      Family::counter("nodepack_api_transport_errors_total", "API requests that failed before an HTTP status arrived.");
  transport.add({}, static_cast<double>(client_.counters().errors.load()));
  auto buffered = Family::gauge("nodepack_api_largest_buffered_bytes",
                                "Most bytes of one API response counted against its bound at once: a list page "
                                "(parsed as it arrives, not held), or an unfinished watch event line.");
  buffered.add({}, static_cast<double>(client_.counters().largest_buffered.load()));
  std::vector<prometheus::MetricFamily> out;
  metrics::emit(out, synced, failing, events, bookmarks, lists, relists, errors, decode, too_large, requests, transport,
                buffered);
  return out;
}

}  // namespace nodepack::kube
