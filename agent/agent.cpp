#include "agent/agent.hpp"

#include "agent/accounting/accounting_source.hpp"
#include "agent/binpacking_collector.hpp"
#if NODEPACK_HAVE_BPF
#include "agent/bpf_source.hpp"
#endif
#include "agent/node_report.hpp"
#include "agent/numa_source.hpp"
#include "agent/process_collector.hpp"
#include "agent/watch_collector.hpp"
#include "common/duration.hpp"
#include "common/logging.hpp"
#include "common/rfc3339.hpp"
#include "common/stop_signals.hpp"
#include "http/server.hpp"
#include "kube/resource_list.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <csignal>
#include <cstdlib>
#include <iostream>

namespace nodepack::agent {
namespace {

namespace beast = boost::beast;
using http::Reply;
using http::Request;

Reply json_reply(const Request& request, const boost::json::value& body) {
  return Reply{
      http::make_response(request, beast::http::status::ok, boost::json::serialize(body) + "\n", "application/json"),
      {}};
}

boost::json::value optional_time(const std::optional<std::chrono::system_clock::time_point>& t) {
  return t ? boost::json::value(format_rfc3339(*t)) : boost::json::value(nullptr);
}

using http::html_escape;

}  // namespace

Agent::Agent(AgentOptions options, kube::ClusterConfig cluster, const Clock& clock, AgentTuning tuning)
    : options_(std::move(options)),
      cluster_(std::move(cluster)),
      clock_(clock),
      tuning_(tuning),
      started_(clock.now()) {}

Agent::~Agent() { stop(); }

std::vector<kube::ReflectorStatus> Agent::watch_status() const {
  return {node_reflector_->status(), pod_reflector_->status()};
}

bool Agent::ready(std::string* reason) const {
  for (const auto* r : {node_reflector_.get(), pod_reflector_.get()}) {
    if (!r->ready()) {
      if (reason != nullptr) {
        const auto s = r->status();
        *reason = s.synced ? s.resource + " watch failing: " + s.last_error : s.resource + " not synced";
      }
      return false;
    }
  }
  return true;
}

Result<void> Agent::start() {
  auto client = kube::ApiClient::create(cluster_, clock_);
  if (!client) {
    return client.error();
  }
  client_ = std::move(*client);
  state_ = std::make_unique<NodeState>(options_.node_name, options_.resize_semantics);

  auto reflector_options = [&](std::string resource, std::string path, std::string field_selector) {
    kube::ReflectorOptions o;
    o.resource = std::move(resource);
    o.path = std::move(path);
    o.field_selector = std::move(field_selector);
    o.page_size = options_.list_page_size;
    o.initial_backoff = tuning_.initial_backoff;
    o.max_backoff = tuning_.max_backoff;
    o.min_watch_timeout = tuning_.min_watch_timeout;
    o.unready_after = std::chrono::duration_cast<std::chrono::milliseconds>(options_.unready_after);
    return o;
  };
  node_reflector_ = std::make_unique<kube::Reflector>(
      *client_, reflector_options("nodes", "/api/v1/nodes", "metadata.name=" + options_.node_name), state_->node_sink(),
      clock_);
  pod_reflector_ = std::make_unique<kube::Reflector>(
      *client_, reflector_options("pods", "/api/v1/pods", "spec.nodeName=" + options_.node_name), state_->pod_sink(),
      clock_);

  binpacking_ = std::make_shared<BinpackingCollector>(
      *state_, options_.resources, !options_.disable_node_metrics, [this] { return watch_status(); }, clock_, started_);
  registry_.add(binpacking_);
  registry_.add(std::make_shared<WatchCollector>(
      std::vector<const kube::Reflector*>{node_reflector_.get(), pod_reflector_.get()}, *client_));
  if (options_.collect_numa) {
    auto reserved = numa::CpuSet::parse(options_.reserved_cpus);
    if (!reserved) {
      return fail("--reserved-cpus: " + reserved.error().message);
    }
    HostPaths paths = HostPaths::under(options_.host_root);
    paths.kubelet_root = options_.kubelet_root;
    numa_ = std::make_unique<NumaSource>(*state_, paths, std::move(*reserved), clock_);
    numa_->start();
    registry_.add(numa_->collector());
  }
  if (options_.collect_accounting) {
    accounting::AccountingOptions a;
    a.paths = HostPaths::under(options_.host_root);
    a.paths.kubelet_root = options_.kubelet_root;
    a.node = options_.node_name;
    a.state_file = options_.accounting_state_file;
    a.sample_interval = options_.accounting_sample_interval;
    a.retention = options_.accounting_retention;
    a.gpu_resources = options_.accounting_gpu_resources;
    a.nvml_library = options_.accounting_nvml_library;
    accounting_ = std::make_unique<accounting::AccountingSource>(*state_, std::move(a), clock_);
    accounting_->start();
    // Before the reflectors start: the first pod list is where stored counters resume.
    state_->set_pod_listener(accounting_.get());
    registry_.add(accounting_->collector());
  }
#if !NODEPACK_HAVE_BPF
  if (options_.collect_bpf) {
    spdlog::warn("this nodepack was built without BPF support: no kpod_* metrics");
  }
#else
  if (options_.collect_bpf) {
    bpf::RegistryOptions bpf_options;
    bpf_options.paths = HostPaths::under(options_.host_root);
    bpf_options.paths.kubelet_root = options_.kubelet_root;
    bpf_options.node = options_.node_name;
    bpf_options.profile = *bpf::parse_profile(options_.profile);  // validated with the flags
    for (const auto& [name, on] : options_.collector_overrides) {
      bpf_options.enable[name] = on;
    }
    bpf_options.tracked_syscalls = options_.tracked_syscalls;
    bpf_options.clock = &clock_;
    bpf_ = std::make_unique<BpfSource>(*state_, std::move(bpf_options));
    bpf_->start();
    // The registry is owned here and outlives every scrape; wrap it without taking ownership.
    registry_.add(std::shared_ptr<prometheus::Collectable>(std::shared_ptr<void>(), &bpf_->registry()));
  }
#endif
  registry_.add(std::make_shared<metrics::BuildInfoCollector>());
  registry_.add(std::make_shared<metrics::ProcessCollector>());

  server_ = std::make_unique<http::Server>(io_, make_router());
  if (auto listening = server_->listen(options_.metrics_addr); !listening) {
    return fail("cannot listen on " + options_.metrics_addr + ": " + listening.error().message);
  }

  boost::asio::co_spawn(io_, node_reflector_->run(), boost::asio::detached);
  boost::asio::co_spawn(io_, pod_reflector_->run(), boost::asio::detached);
  if (numa_) {
    boost::asio::co_spawn(io_, numa_->run(), boost::asio::detached);
  }
  if (accounting_) {
    boost::asio::co_spawn(io_, accounting_->run(), boost::asio::detached);
  }
#if NODEPACK_HAVE_BPF
  if (bpf_) {
    boost::asio::co_spawn(io_, follow_pod_changes(), boost::asio::detached);
  }
#endif
  // Periodic recount: rebuilds the totals from the stored pods and checks them against the
  // incrementally kept ones. No API calls; a mismatch would be a bug, so it is logged loudly.
  boost::asio::co_spawn(
      io_,
      [this]() -> boost::asio::awaitable<void> {
        boost::asio::steady_timer timer(io_);
        for (;;) {
          timer.expires_after(options_.resync_period);
          co_await timer.async_wait(boost::asio::use_awaitable);
          if (!state_->pods().recount()) {
            spdlog::error("resync: incrementally kept node totals differed from a full recount; corrected");
          }
        }
      },
      boost::asio::detached);
  thread_ = std::thread([this] { io_.run(); });
  spdlog::info("agent for node {} serving on {} (API server {}, {})", options_.node_name,
               endpoint().address().to_string() + ":" + std::to_string(endpoint().port()), cluster_.server,
               cluster_.source);
  return {};
}

// Pod events reach the BPF side as a rescan of the cgroup tree, at most once a second: a burst of
// events (a relist, a rollout) costs one directory walk, not one per event.
#if NODEPACK_HAVE_BPF
boost::asio::awaitable<void> Agent::follow_pod_changes() {
  boost::asio::steady_timer timer(io_);
  std::uint64_t seen = state_->pods().totals().generation;
  for (;;) {
    timer.expires_after(std::chrono::seconds(1));
    co_await timer.async_wait(boost::asio::use_awaitable);
    const auto generation = state_->pods().totals().generation;
    if (generation != seen) {
      seen = generation;
      bpf_->rescan();
    }
  }
}
#endif

void Agent::stop() {
  if (server_) {
    server_->stop();
  }
  io_.stop();
  if (thread_.joinable()) {
    thread_.join();
  }
  if (accounting_) {
    accounting_->stop();  // after the io thread: no pod event can race the last write
  }
}

boost::asio::ip::tcp::endpoint Agent::endpoint() const { return server_->endpoint(); }

http::Router Agent::make_router() {
  http::Router router;
  router.add("/", [this](const Request& r) { return index_page(r); });
  router.add(options_.metrics_path, [this](const Request& r) {
    auto response =
        http::make_response(r, beast::http::status::ok, registry_.render(), "text/plain; version=0.0.4; charset=utf-8");
    http::maybe_gzip(r, response);
    return Reply{std::move(response), {}};
  });
  router.add("/healthz", [](const Request& r) {
    return Reply{http::make_response(r, beast::http::status::ok, "ok"), {}};
  });
  router.add("/readyz", [this](const Request& r) {
    std::string reason;
    if (ready(&reason)) {
      return Reply{http::make_response(r, beast::http::status::ok, "ready"), {}};
    }
    return Reply{http::make_response(r, beast::http::status::service_unavailable, "not ready: " + reason), {}};
  });
  router.add("/sync", [this](const Request& r) { return sync_page(r); });
  router.add("/report", [this](const Request& r) {
    return json_reply(
        r, build_node_report(*state_, ready(), clock_.now(), numa_ ? numa_->zones_json() : boost::json::array()));
  });
  router.add("/debug/pods", [this](const Request& r) { return debug_pods(r); });
  router.add("/debug/accounting", [this](const Request& r) {
    if (!accounting_) {
      return Reply{http::make_response(r, beast::http::status::not_found, "accounting is disabled\n"), {}};
    }
    return json_reply(r, accounting::accounts_json(accounting_->integrator().snapshot(clock_.now())));
  });
  router.add("/debug/numa", [this](const Request& r) {
    if (!numa_) {
      return Reply{http::make_response(r, beast::http::status::not_found, "NUMA collection is disabled\n"), {}};
    }
    return json_reply(r, numa_->debug_json());
  });
  return router;
}

http::Reply Agent::sync_page(const Request& request) const {
  boost::json::object out;
  const auto statuses = watch_status();
  const double age = binpacking_->cache_age_seconds();
  std::optional<std::chrono::system_clock::time_point> oldest;
  boost::json::array watches;
  for (const auto& s : statuses) {
    if (s.last_activity && (!oldest || *s.last_activity < *oldest)) {
      oldest = s.last_activity;
    }
    boost::json::object w;
    w["resource"] = s.resource;
    w["state"] = s.state;
    w["synced"] = s.synced;
    w["resource_version"] = s.resource_version;
    w["last_list"] = optional_time(s.last_sync);
    w["last_activity"] = optional_time(s.last_activity);
    w["failing_since"] = optional_time(s.failing_since);
    w["last_error"] = s.last_error;
    w["lists"] = s.lists;
    w["relists_expired"] = s.relists_expired;
    w["watches"] = s.watches;
    w["events"] = s.events;
    w["bookmarks"] = s.bookmarks;
    w["errors"] = s.errors;
    w["decode_errors"] = s.decode_errors;
    watches.push_back(std::move(w));
  }
  out["last_sync"] = optional_time(oldest);
  out["sync_age_seconds"] = age;
  out["resync_period"] = format_go_duration(options_.resync_period);
  out["node_synced"] = statuses[0].synced;
  out["pod_synced"] = statuses[1].synced;
  out["ready"] = ready();
  out["node"] = options_.node_name;
  out["watches"] = std::move(watches);
  return json_reply(request, out);
}

http::Reply Agent::debug_pods(const Request& request) const {
  boost::json::object out;
  out["node"] = options_.node_name;
  out["resize_semantics"] =
      options_.resize_semantics == kube::ResizeSemantics::per_container ? "per-container" : "max-of-sums";
  boost::json::array pods;
  for (const auto& p : state_->pods().pods()) {
    boost::json::object o;
    o["namespace"] = p.pod.namespace_name;
    o["name"] = p.pod.name;
    o["uid"] = p.pod.uid;
    o["phase"] = p.pod.phase;
    o["counted"] = p.counted;
    o["daemonset"] = p.pod.is_daemonset();
    o["terminating"] = p.pod.is_terminating();
    o["requests"] = resource_list_json(p.requests.requests);
    boost::json::array reasons;
    for (const auto& reason : p.requests.reasons) {
      reasons.push_back(boost::json::string(reason));
    }
    if (!p.counted) {
      reasons.push_back(boost::json::string("not counted: phase " + p.pod.phase));
    }
    o["reasons"] = std::move(reasons);
    pods.push_back(std::move(o));
  }
  out["pods"] = std::move(pods);
  const auto totals = state_->pods().totals();
  out["allocated"] = resource_list_json(totals.allocated);
  out["daemonset_allocated"] = resource_list_json(totals.daemonset_allocated);
  out["pod_count"] = totals.pod_count;
  return json_reply(request, out);
}

http::Reply Agent::index_page(const Request& request) const {
  std::string resources;
  for (const auto& r : options_.resources) {
    resources += (resources.empty() ? "" : ",") + r;
  }
  std::string body = "<!doctype html><html><head><meta charset=\"utf-8\"><title>nodepack agent</title></head><body>";
  body += "<h1>nodepack agent</h1><p>Version " + html_escape(metrics::nodepack_version()) + " (" +
          html_escape(metrics::nodepack_revision()) + ")</p>";
  body += "<h2>Configuration</h2><table>";
  const std::pair<const char*, std::string> rows[] = {
      {"node", options_.node_name},
      {"API server", cluster_.server},
      {"configuration source", cluster_.source},
      {"resources", resources},
      {"node metrics", options_.disable_node_metrics ? "disabled" : "enabled"},
      {"resync period", format_go_duration(options_.resync_period)},
      {"list page size", std::to_string(options_.list_page_size)},
  };
  for (const auto& [k, v] : rows) {
    body += "<tr><th align=left>" + html_escape(k) + "</th><td>" + html_escape(v) + "</td></tr>";
  }
  body += "</table><h2>Endpoints</h2><ul>";
  for (const auto& path : {options_.metrics_path, std::string("/healthz"), std::string("/readyz"), std::string("/sync"),
                           std::string("/report"), std::string("/debug/pods"), std::string("/debug/numa"),
                           std::string("/debug/accounting")}) {
    body += "<li><a href=\"" + html_escape(path) + "\">" + html_escape(path) + "</a></li>";
  }
  body += "</ul></body></html>\n";
  return Reply{http::make_response(request, beast::http::status::ok, std::move(body), "text/html; charset=utf-8"), {}};
}

int run_agent(const std::vector<std::string>& args) {
  const char* node_env = std::getenv("NODE_NAME");
  auto options = parse_agent_options(args, node_env == nullptr ? "" : node_env);
  if (!options) {
    std::cerr << "nodepack agent: " << options.error().message << "\n";
    return 2;
  }
  if (options->help) {
    std::cout << agent_usage();
    return 0;
  }
  if (auto logging = setup_logging(options->log_level, options->log_format); !logging) {
    std::cerr << "nodepack agent: " << logging.error().message << "\n";
    return 2;
  }
  auto cluster =
      kube::resolve_cluster_config(kube::ConfigRequest::from_environment(options->kubeconfig, options->context));
  if (!cluster) {
    spdlog::critical("{}", cluster.error().message);
    return 1;
  }
  StopSignals stop_signals;  // before any thread starts

  Agent agent(std::move(*options), std::move(*cluster), SystemClock::instance());
  if (auto started = agent.start(); !started) {
    spdlog::critical("{}", started.error().message);
    return 1;
  }
  spdlog::info("received {}, shutting down", stop_signals.wait());
  agent.stop();
  return 0;
}

}  // namespace nodepack::agent
