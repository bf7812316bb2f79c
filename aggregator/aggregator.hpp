#pragma once

// `nodepack aggregator`: finds the agents, pulls their node reports, watches the Node set (and
// unscheduled Pending pods), and serves cluster and label-group binpacking from one immutable
// snapshot per scrape, with /sync naming every node whose report is not fresh and a web page.
//
// Two threads: the work thread runs the reflectors, the pull rounds and the snapshot builds; the
// serving thread answers HTTP from the latest published snapshot, so a slow scrape never delays a
// pull and a long pull round never delays a scrape. Password hashing has a small pool of its own
// (aggregator/auth), so a login never delays either.

#include "aggregator/aggregator_options.hpp"
#include "aggregator/gzip_prefix.hpp"
#include "aggregator/snapshot.hpp"
#include "aggregator/topology_graph.hpp"
#include "aggregator/web/web.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"
#include "http/server.hpp"
#include "kube/api_client.hpp"
#include "kube/kubeconfig.hpp"
#include "kube/reflector.hpp"
#include "kube/resize_tracker.hpp"
#include "metrics/registry.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace nodepack::auth {
class Authenticator;
class AuthHandoff;
}  // namespace nodepack::auth
namespace nodepack::billing {
class Api;
}

namespace nodepack::aggregator {

class ClusterPods;
class LeaderElector;
class Inventory;
class ReportPuller;
class SelfMetrics;

// Test hooks: faster back-off, longer watches and a shorter snapshot debounce than production.
struct AggregatorTuning {
  std::chrono::milliseconds initial_backoff{800};
  std::chrono::milliseconds max_backoff{30'000};
  std::chrono::seconds min_watch_timeout{300};
  // Node, agent and pending-pod changes are coalesced for this long before a snapshot is rebuilt
  // (Node status updates arrive continuously in a large cluster).
  std::chrono::milliseconds snapshot_debounce{1000};
};

// A published snapshot with its renderings, each made once on first use.
class PublishedSnapshot {
 public:
  explicit PublishedSnapshot(std::shared_ptr<const Snapshot> snapshot) : snapshot_(std::move(snapshot)) {}
  const Snapshot& snapshot() const { return *snapshot_; }
  const std::string& metrics_text() const;
  const DeflatedPrefix& metrics_deflated() const;
  const std::string& json_text() const;
  const DeflatedPrefix& json_deflated() const;

  using SteadyTime = std::chrono::steady_clock::time_point;
  // What a scrape asks for: the same renderings, remembered with when they were asked for.
  const std::string& scraped_text(SteadyTime now) const;
  const DeflatedPrefix& scraped_deflated(SteadyTime now) const;
  bool text_rendered() const { return text_ready_.load(); }
  bool deflated_rendered() const { return deflated_ready_.load(); }

  // When scrapes last asked for each rendering, of this snapshot or (inherited through
  // render_ahead) of those before it; the epoch when never.
  struct Asked {
    SteadyTime text{};
    SteadyTime deflated{};
  };
  Asked asked() const;

  // Renders in `next`, on the caller's thread, what scrapes asked for within `window` before
  // `now`: the cluster's series of a large cluster take 100-230 ms to write (65,000 nodes,
  // 83 MB) and as long again to compress, and a scraper once a pull interval meets a snapshot
  // nobody scraped yet nearly every time, so each of its scrapes paid that on the io thread.
  // `next` inherits the times, so a snapshot published between two scrapes does not end it;
  // after `window` without a scrape (a follower, no Prometheus) nothing is rendered ahead.
  static void render_ahead(Asked previous, const PublishedSnapshot& next, SteadyTime now,
                           std::chrono::nanoseconds window);

 private:
  std::shared_ptr<const Snapshot> snapshot_;
  // steady_clock ticks since its epoch: std::atomic of a time_point is not lock-free everywhere.
  mutable std::atomic<SteadyTime::rep> text_asked_{0};
  mutable std::atomic<SteadyTime::rep> deflated_asked_{0};
  mutable std::atomic<bool> text_ready_{false};
  mutable std::atomic<bool> deflated_ready_{false};
  mutable std::once_flag metrics_once_;
  mutable std::once_flag deflated_once_;
  mutable DeflatedPrefix metrics_deflated_;
  mutable std::once_flag json_once_;
  mutable std::string metrics_text_;
  mutable std::string json_text_;
  mutable std::once_flag json_deflated_once_;
  mutable DeflatedPrefix json_deflated_;
};

class Aggregator {
 public:
  Aggregator(AggregatorOptions options, kube::ClusterConfig cluster, const Clock& clock, AggregatorTuning tuning = {});
  ~Aggregator();
  Aggregator(const Aggregator&) = delete;
  Aggregator& operator=(const Aggregator&) = delete;

  Result<void> start();
  void stop();

  boost::asio::ip::tcp::endpoint endpoint() const;
  // Node list synced (and agent discovery and pending pods, when used) and one pull round done.
  bool ready(std::string* reason = nullptr) const;
  std::shared_ptr<const PublishedSnapshot> published() const;
  // The cluster's connection graph as of the last pull round (null before the first).
  std::shared_ptr<const TopologyGraph> topology() const;
  // The plain exposition as a streamed reply: the snapshot's text is sent without a copy.
  http::Reply streamed_metrics(const http::Request& request, std::string_view content_type) const;
  // The exposition for a scrape that accepts gzip: the snapshot part compressed once.
  std::string render_metrics_gzip() const;
  std::uint64_t rounds_completed() const { return rounds_.load(); }
  // Whether this replica exports the cluster series: always without --leader-election.
  bool leading() const;
  const kube::ApiClient& client() const { return *client_; }

 private:
  struct RoundInfo {
    std::optional<std::chrono::system_clock::time_point> last_end;
    double last_seconds = 0;
    std::size_t last_targets = 0;
    std::size_t last_failures = 0;
  };

  boost::asio::awaitable<void> pull_loop();
  boost::asio::awaitable<void> debounced_rebuild();
  boost::asio::awaitable<void> periodic_rebuild();
  void schedule_rebuild();
  void rebuild_snapshot();
  void rebuild_topology();
  boost::asio::awaitable<http::Reply> topology_reply(const http::Request& request, http::RequestInfo info) const;
  bool sources_synced() const;
  std::vector<const kube::Reflector*> reflectors() const;
  double cache_age_seconds() const;
  // Whether the aggregator's own figures may be summed now, and why not.
  OwnFigures own_figures(std::chrono::system_clock::time_point now) const;

  Result<void> start_usage_api();
  web::WebDeps web_deps();
  std::vector<prometheus::MetricFamily> usage_api_families() const;
  http::Router make_router();
  http::Reply sync_page(const http::Request& request) const;

  AggregatorOptions options_;
  kube::ClusterConfig cluster_;
  const Clock& clock_;
  AggregatorTuning tuning_;
  std::chrono::system_clock::time_point started_;
  std::shared_ptr<const SnapshotConfig> config_;

  boost::asio::io_context work_;
  boost::asio::io_context serve_;
  std::thread work_thread_;
  std::thread serve_thread_;
  std::unique_ptr<kube::ApiClient> client_;
  std::unique_ptr<Inventory> inventory_;
  std::unique_ptr<kube::ResizeTracker> resize_;  // the in-place resize rule in force
  std::unique_ptr<ReportPuller> puller_;
  std::unique_ptr<kube::Reflector> node_reflector_;
  std::unique_ptr<kube::Reflector> agent_reflector_;    // null with --agents
  std::unique_ptr<kube::Reflector> pending_reflector_;  // null with --pending-pods=false
  std::unique_ptr<ClusterPods> own_pods_;               // null with --node-source=agents
  std::unique_ptr<kube::Reflector> own_reflector_;      // every bound pod, for own_pods_
  std::unique_ptr<LeaderElector> elector_;              // null without --leader-election
  std::shared_ptr<SelfMetrics> self_;
  metrics::MetricsRegistry registry_;                // everything on /metrics that is not from the snapshot
  std::unique_ptr<auth::Authenticator> auth_;        // null: the API and the web UI are open
  std::unique_ptr<auth::AuthHandoff> auth_handoff_;  // with auth_: the usage API's way to it
  std::unique_ptr<billing::Api> api_;
  std::unique_ptr<http::Server> server_;

  // Work thread only.
  bool rebuild_pending_ = false;
  std::uint64_t sequence_ = 0;

  std::atomic<std::uint64_t> rounds_{0};
  mutable std::mutex mutex_;  // guards published_, topology_ and round_
  std::shared_ptr<const PublishedSnapshot> published_;
  std::shared_ptr<const TopologyGraph> topology_;
  RoundInfo round_;
};

// `nodepack aggregator ...` from main: parses flags, resolves the cluster, runs until SIGINT/SIGTERM.
int run_aggregator(const std::vector<std::string>& args);

}  // namespace nodepack::aggregator
