#include "kube/sync_status.hpp"

#include "common/duration.hpp"
#include "common/rfc3339.hpp"

#include <boost/json/array.hpp>

namespace nodepack::kube {
namespace {

boost::json::value optional_time(const std::optional<std::chrono::system_clock::time_point>& t) {
  return t ? boost::json::value(format_rfc3339(*t)) : boost::json::value(nullptr);
}

}  // namespace

boost::json::object watch_json(const ReflectorStatus& s) {
  return boost::json::object{{"resource", s.resource},
                             {"state", s.state},
                             {"synced", s.synced},
                             {"resource_version", s.resource_version},
                             {"last_list", optional_time(s.last_sync)},
                             {"last_activity", optional_time(s.last_activity)},
                             {"failing_since", optional_time(s.failing_since)},
                             {"last_error", s.last_error},
                             {"lists", s.lists},
                             {"relists_expired", s.relists_expired},
                             {"watches", s.watches},
                             {"events", s.events},
                             {"bookmarks", s.bookmarks},
                             {"errors", s.errors},
                             {"decode_errors", s.decode_errors},
                             {"too_large", s.too_large}};
}

boost::json::object sync_json(const std::vector<ReflectorStatus>& watches, double sync_age_seconds,
                              std::chrono::nanoseconds resync_period) {
  std::optional<std::chrono::system_clock::time_point> oldest;
  bool node_synced = false;
  bool pod_synced = true;
  boost::json::array list;
  for (const auto& s : watches) {
    if (s.last_activity && (!oldest || *s.last_activity < *oldest)) {
      oldest = s.last_activity;
    }
    if (s.resource == "nodes") {
      node_synced = s.synced;
    } else {
      pod_synced = pod_synced && s.synced;
    }
    list.push_back(watch_json(s));
  }
  boost::json::object out;
  out["last_sync"] = optional_time(oldest);
  out["sync_age_seconds"] = sync_age_seconds;
  out["resync_period"] = format_go_duration(resync_period);
  out["node_synced"] = node_synced;
  out["pod_synced"] = pod_synced;
  out["watches"] = std::move(list);
  return out;
}

}  // namespace nodepack::kube
