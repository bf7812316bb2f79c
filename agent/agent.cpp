#include "agent/agent.hpp"

#include "agent/accounting/accounting_source.hpp"
#include "agent/binpacking_collector.hpp"
#include "agent/coalescer.hpp"
#include "agent/container_collector.hpp"
#include "agent/endpoint_auth.hpp"
#include "agent/kernel_source.hpp"
#include "agent/kubelet_config.hpp"
#include "agent/node_report.hpp"
#include "agent/nrt_source.hpp"
#include "agent/numa_source.hpp"
#include "agent/page.hpp"
#include "agent/peer_watch.hpp"
#include "agent/store_pod_lookup.hpp"
#include "cgroup/resolver.hpp"
#include "common/duration.hpp"
#include "common/heap_policy.hpp"
#include "common/logging.hpp"
#include "common/resident_code.hpp"
#include "common/stop_signals.hpp"
#include "common/strings.hpp"
#include "http/server.hpp"
#include "http/server_collector.hpp"
#include "kube/access_review.hpp"
#include "kube/resource_list.hpp"
#include "kube/sync_status.hpp"
#include "kube/watch_collector.hpp"
#include "metrics/build_info.hpp"
#include "metrics/process_collector.hpp"
#include "numa/cpuset.hpp"
#include "numa/inspect.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <utility>

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

// Tells the coalescer about every pod event and gathers which pods they were about; the sources
// hear of them once a second at most, with the pods that changed since they last did.
class PodEvents final : public PodListener {
 public:
  explicit PodEvents(Coalescer& coalescer) : coalescer_(coalescer) {}
  void pod_upserted(const kube::Pod& pod) override { changed(pod.uid); }
  void pod_removed(const std::string& uid) override { changed(uid); }
  void pods_replaced(const std::vector<kube::Pod>&) override {
    {
      std::lock_guard lock(mu_);
      changes_.all = true;
      changes_.uids.clear();
    }
    coalescer_.notify();
  }
  // What changed since the last call.
  PodChanges take() {
    std::lock_guard lock(mu_);
    return std::exchange(changes_, PodChanges{});
  }

 private:
  void changed(const std::string& uid) {
    {
      std::lock_guard lock(mu_);
      if (!changes_.all) {
        changes_.uids.insert(uid);
      }
    }
    coalescer_.notify();
  }

  Coalescer& coalescer_;
  std::mutex mu_;  // both run on the io thread today; the guard keeps that from being a rule
  PodChanges changes_;
};

// Debug pages that exist whether or not their source is enabled.
constexpr std::pair<std::string_view, std::string_view> debug_pages[] = {
    {"numa", "NUMA collection is disabled\n"},
    {"accounting", "accounting is disabled\n"},
    {"kernel", "per-pod kernel metrics are disabled\n"},
    {"nrt", "NodeResourceTopology export is off (--nrt.export)\n"},
};

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

boost::asio::awaitable<void> Agent::drop_startup_pages() {
  // Ready means the node and its pods are listed; the kernel collectors were loaded before start()
  // returned. A few seconds more let the first scrape, report and NUMA rebuild fault in what the
  // steady work uses, so what is dropped is mostly what will not be used again.
  constexpr auto poll = std::chrono::seconds(1);
  constexpr auto settle = std::chrono::seconds(5);
  boost::asio::steady_timer timer(io_);
  while (!ready()) {
    timer.expires_after(poll);
    co_await timer.async_wait(boost::asio::use_awaitable);
  }
  timer.expires_after(settle);
  co_await timer.async_wait(boost::asio::use_awaitable);
  const auto dropped = drop_read_only_segments();
  spdlog::info("start-up over: {:.1f} MiB of code and constants unmapped (mapped again from the page cache on use)",
               static_cast<double>(dropped) / (1024.0 * 1024.0));
}

Result<void> Agent::make_sources() {
  std::string no_cgroups;
  if (options_.collect_bpf || options_.collect_accounting) {
    // One resolver, shared: kernel metrics and accounting ask the same question of the same tree.
    auto resolver = cgroup::CgroupResolver::create(options_.paths, *pod_lookup_);
    if (resolver) {
      cgroups_ = std::move(*resolver);
    } else {
      no_cgroups = resolver.error().message;
    }
  }
  if (options_.collect_numa) {
    auto reserved = numa::CpuSet::parse(options_.reserved_cpus);
    if (!reserved) {
      return fail("--reserved-cpus: " + reserved.error().message);
    }
    NumaSourceOptions n;
    n.node_name = options_.node_name;
    n.paths = options_.paths;
    n.reserved_cpus = std::move(*reserved);
    n.podresources_socket = options_.podresources_socket;
    n.podresources_interval = std::chrono::duration_cast<std::chrono::milliseconds>(options_.podresources_interval);
    auto numa = std::make_unique<NumaSource>(std::move(n), *pod_lookup_, clock_);
    numa_ = numa.get();
    sources_.push_back(std::move(numa));
  }
  if (options_.nrt_export) {
    if (numa_ == nullptr) {
      return fail("--nrt.export needs the NUMA collector (--collectors.numa)");
    }
    NrtOptions n;
    n.node_name = options_.node_name;
    n.interval = std::chrono::duration_cast<std::chrono::milliseconds>(options_.nrt_interval);
    n.topology_manager =
        topology_manager_config(options_.nrt_topology_manager_policy, options_.nrt_topology_manager_scope,
                                options_.paths.kubelet_root / "config.yaml");
    sources_.push_back(std::make_unique<NrtSource>(std::move(n), *client_, numa_->state(), *state_, clock_));
  }
  if (options_.collect_accounting) {
    accounting::AccountingOptions a;
    a.paths = options_.paths;
    a.node = options_.node_name;
    a.state_file = options_.accounting_state_file;
    a.sample_interval = options_.accounting_sample_interval;
    a.retention = options_.accounting_retention;
    a.gpu_resources = options_.accounting_gpu_resources;
    a.nvml_library = options_.accounting_nvml_library;
    auto source =
        std::make_unique<accounting::AccountingSource>(*state_, std::move(a), cgroups_.get(), no_cgroups, clock_);
    accounting_ = source.get();
    sources_.push_back(std::move(source));
  }
  if (options_.collect_bpf) {
    kpod::RegistryOptions k;
    k.collectors.paths = options_.paths;
    k.collectors.node = options_.node_name;
    k.collectors.tracked_syscalls = options_.tracked_syscalls;
    k.collectors.dns_timeout = options_.dns_timeout;
    k.collectors.dns_top_names = static_cast<std::size_t>(options_.dns_top_names);
    k.collectors.sched_variant = options_.sched_variant;
    k.collectors.clock = &clock_;
    k.collectors.peers = peers_.get();  // null unless the topology collector runs
    k.collectors.peer_granularity = options_.peer_granularity;
    k.collectors.topology_max_peers = static_cast<std::size_t>(options_.topology_max_peers);
    k.profile = options_.profile;
    k.enable.insert(options_.collector_overrides.begin(), options_.collector_overrides.end());
    k.scope = kpod::PodScope::create(options_.kpod_scope).value();  // checked when the flags were parsed
    auto kernel = std::make_unique<KernelSource>(std::move(k), cgroups_.get(), no_cgroups,
                                                 KernelBackend::create(clock_, options_.bpf_stats));
    kernel_ = kernel.get();
    sources_.push_back(std::move(kernel));
  }
  return {};
}

Result<void> Agent::start() {
  auto client = kube::ApiClient::create(cluster_, clock_);
  if (!client) {
    return client.error();
  }
  client_ = std::move(*client);
  resize_ = std::make_unique<kube::ResizeTracker>(options_.resize_semantics, [this](kube::ResizeSemantics semantics) {
    state_->pods().set_semantics(semantics);  // on the io thread, like every pod event
  });
  state_ = std::make_unique<NodeState>(options_.node_name, resize_->semantics());
  pod_lookup_ = std::make_unique<StorePodLookup>(*state_);

  auto reflector_options = [&](std::string resource, std::string path, std::string field_selector) {
    kube::ReflectorOptions o;
    o.resource = std::move(resource);
    o.path = std::move(path);
    o.field_selector = std::move(field_selector);
    o.page_size = options_.list_page_size;
    o.max_list_bytes = static_cast<std::uint64_t>(options_.max_list_bytes);
    o.max_event_bytes = static_cast<std::uint64_t>(options_.max_watch_event_bytes);
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
  if (topology_enabled(options_)) {
    peers_ = std::make_unique<PeerWatch>(*client_, reflector_options("", "", ""), clock_);
  }

  binpacking_ = std::make_shared<BinpackingCollector>(
      *state_, options_.resources, !options_.disable_node_metrics, [this] { return watch_status(); }, clock_, started_);
  registry_.add(binpacking_);
  std::vector<const kube::Reflector*> watched{node_reflector_.get(), pod_reflector_.get()};
  if (peers_) {
    const auto more = peers_->reflectors();
    watched.insert(watched.end(), more.begin(), more.end());
  }
  registry_.add(std::make_shared<kube::WatchCollector>(std::move(watched), *client_));
  // The same filters and labels as the kernel series (checked when the flags were parsed).
  registry_.add(std::make_shared<ContainerCollector>(*state_, kpod::PodScope::create(options_.kpod_scope).value()));

  if (auto made = make_sources(); !made) {
    return made.error();
  }
  for (auto& source : sources_) {
    source->start();
    registry_.add(source->collector());
  }
  registry_.add(std::make_shared<metrics::BuildInfoCollector>());
  registry_.add(std::make_shared<metrics::ProcessCollector>());

  // Before the reflectors start: accounting resumes stored counters at the first pod list.
  if (accounting_ != nullptr) {
    state_->subscribe(accounting_);
  }
  pods_changed_ = std::make_unique<Coalescer>(io_.get_executor(), clock_, std::chrono::seconds(1), [this] {
    const PodChanges changes = static_cast<PodEvents&>(*pod_events_).take();
    for (auto& source : sources_) {
      source->pods_changed(changes);
    }
  });
  pod_events_ = std::make_unique<PodEvents>(*pods_changed_);
  state_->subscribe(pod_events_.get());

  if (options_.auth_mode == AuthMode::kubernetes) {
    access_reviewer_ = std::make_unique<kube::ApiAccessReviewer>(*client_);
    endpoint_auth_ = std::make_unique<EndpointAuth>(*access_reviewer_, clock_);
    registry_.add(std::make_shared<EndpointAuthCollector>(*endpoint_auth_));
  }
  server_ = std::make_unique<http::Server>(io_, make_router());
  registry_.add(std::make_shared<http::ServerCollector>(*server_));
  if (auto listening = server_->listen(options_.metrics_addr); !listening) {
    return fail("cannot listen on " + options_.metrics_addr + ": " + listening.error().message);
  }

  boost::asio::co_spawn(io_, node_reflector_->run(), boost::asio::detached);
  boost::asio::co_spawn(io_, pod_reflector_->run(), boost::asio::detached);
  if (peers_) {
    peers_->spawn(io_);  // not in ready(): the node's own figures do not wait on cluster-wide watches
  }
  auto resize_run = resize_->run(
      *client_,
      [this] {
        return kube::watch_recoveries({node_reflector_.get(), pod_reflector_.get()});
      },
      clock_);
  boost::asio::co_spawn(io_, std::move(resize_run), boost::asio::detached);
  for (auto& source : sources_) {
    boost::asio::co_spawn(io_, source->run(), boost::asio::detached);
  }
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
  boost::asio::co_spawn(io_, drop_startup_pages(), boost::asio::detached);
  thread_ = std::thread([this] { io_.run(); });
  spdlog::info("agent for node {} serving on {} (API server {}, {}); in-place resize semantics {}", options_.node_name,
               endpoint().address().to_string() + ":" + std::to_string(endpoint().port()), cluster_.server,
               cluster_.source, resize_->describe());
  return {};
}

void Agent::stop() {
  if (server_) {
    server_->stop();
  }
  io_.stop();
  if (thread_.joinable()) {
    thread_.join();
  }
  for (auto& source : sources_) {
    source->stop();  // after the io thread: no pod event can race the last write
  }
}

boost::asio::ip::tcp::endpoint Agent::endpoint() const { return server_->endpoint(); }

http::Router Agent::make_router() {
  http::Router router;
  // Every endpoint but the probes answers only callers the API server vouches for (unless
  // --auth.mode=none): the kubelet's probes carry no token, Prometheus and the aggregator do.
  auto protect = [this, &router](std::string path, http::Handler handler) {
    if (!endpoint_auth_) {
      router.add(std::move(path), std::move(handler));
      return;
    }
    router.add_async(std::move(path),
                     [this, handler = std::move(handler)](const Request& r,
                                                          const http::RequestInfo&) -> boost::asio::awaitable<Reply> {
                       if (auto refused = co_await endpoint_auth_->check(r)) {
                         co_return std::move(*refused);
                       }
                       co_return handler(r);
                     });
  };
  // The page is a script with no data in it (agent/page.hpp): the kubelet-style probes and a
  // browser without a token may load it; what it shows comes from the endpoints below.
  router.add("/", [page = agent_page_html(options_.metrics_path)](const Request& r) {
    return Reply{http::make_response(r, beast::http::status::ok, page, "text/html; charset=utf-8"), {}};
  });
  protect(options_.metrics_path, [this](const Request& r) {
    auto response =
        http::make_response(r, beast::http::status::ok, registry_.render(), "text/plain; version=0.0.4; charset=utf-8");
    if (auto text = http::maybe_gzip(r, response); !text.empty()) {
      registry_.recycle(std::move(text));  // the compressed copy is what goes out
      return Reply{std::move(response), {}};
    }
    return Reply{std::move(response), {}, [this](std::string&& text) { registry_.recycle(std::move(text)); }};
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
  protect("/sync", [this](const Request& r) { return sync_page(r); });
  protect("/report", [this](const Request& r) {
    auto report = build_node_report(*state_, ready(), clock_.now(), numa_ ? numa_->zones_json() : boost::json::array());
    // Cumulative counts: the tag changes whenever a connection is counted, and only then.
    if (auto topology = kernel_ != nullptr ? kernel_->topology() : std::nullopt) {
      report.as_object()["topology"] = kpod::topology_json(*topology);
    }
    const std::string etag = report_etag(report);
    if (r[beast::http::field::if_none_match] == etag) {
      auto unchanged = http::make_response(r, beast::http::status::not_modified, "");
      unchanged.set(beast::http::field::etag, etag);
      return Reply{std::move(unchanged), {}};
    }
    auto reply = json_reply(r, report);
    reply.response.set(beast::http::field::etag, etag);
    return reply;
  });
  protect("/debug/pods", [this](const Request& r) { return debug_pods(r); });
  protect("/debug/config", [this](const Request& r) { return config_page(r); });
  protect("/debug/topology", [this](const Request& r) {
    auto topology = kernel_ != nullptr ? kernel_->topology() : std::nullopt;
    if (!topology) {
      return Reply{http::make_response(r, beast::http::status::not_found,
                                       "connection topology is off (--collector.topology, comprehensive profile)\n"),
                   {}};
    }
    return json_reply(r, kpod::topology_json(*topology));
  });
  for (const auto& [name, disabled] : debug_pages) {
    Source* source = nullptr;
    for (auto& s : sources_) {
      source = s->name() == name ? s.get() : source;
    }
    protect("/debug/" + std::string(name), [source, disabled = disabled](const Request& r) {
      if (source == nullptr) {
        return Reply{http::make_response(r, beast::http::status::not_found, std::string(disabled)), {}};
      }
      return json_reply(r, source->debug_json());
    });
  }
  return router;
}

http::Reply Agent::sync_page(const Request& request) const {
  auto out = kube::sync_json(watch_status(), binpacking_->cache_age_seconds(), options_.resync_period);
  out["ready"] = ready();
  out["node"] = options_.node_name;
  out["resize_semantics"] = resize_->json();
  if (peers_) {
    out["peers"] = peers_->json();
  }
  return json_reply(request, out);
}

http::Reply Agent::debug_pods(const Request& request) const {
  boost::json::object out;
  out["node"] = options_.node_name;
  out["resize_semantics"] = kube::resize_semantics_name(state_->pods().semantics());
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

http::Reply Agent::config_page(const Request& request) const {
  boost::json::object settings{
      {"API server", cluster_.server},
      {"configuration source", cluster_.source},
      {"resources", join(options_.resources, ",")},
      {"node metrics", options_.disable_node_metrics ? "disabled" : "enabled"},
      {"resync period", format_go_duration(options_.resync_period)},
      {"list page size", std::to_string(options_.list_page_size)},
  };
  return json_reply(request, boost::json::object{{"node", options_.node_name},
                                                 {"version", metrics::nodepack_version()},
                                                 {"revision", metrics::nodepack_revision()},
                                                 {"settings", std::move(settings)}});
}

int run_agent(const std::vector<std::string>& args) {
  auto options = parse_agent_options(args, node_name_from_environment());
  if (!options) {
    std::cerr << "nodepack agent: " << options.error().message << "\n";
    return 2;
  }
  if (options->help) {
    std::cout << agent_usage();
    return 0;
  }
  if (options->dump_numa) {
    numa::NumaOptions numa;
    numa.paths = options->paths;
    numa.node_name = options->node_name;
    auto reserved = numa::CpuSet::parse(options->reserved_cpus);
    if (!reserved) {
      std::cerr << "nodepack agent: --reserved-cpus: " << reserved.error().message << "\n";
      return 2;
    }
    numa.reserved_cpus = std::move(*reserved);
    return numa::print_numa_once(numa, false, std::cerr);
  }
  if (auto logging = setup_logging(options->log_level, options->log_format); !logging) {
    std::cerr << "nodepack agent: " << logging.error().message << "\n";
    return 2;
  }
  // The agent's scrapes and lists free their large buffers every time; keep them out of its heap.
  fix_mmap_threshold();
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
