#include "aggregator/aggregator.hpp"

#include "aggregator/auth/authenticator.hpp"
#include "aggregator/auth/env_user.hpp"
#include "aggregator/auth/handoff.hpp"
#include "aggregator/billing/api.hpp"
#include "aggregator/billing/catalogue.hpp"
#include "aggregator/cluster_pods.hpp"
#include "aggregator/inventory.hpp"
#include "aggregator/leader_election.hpp"
#include "aggregator/page.hpp"
#include "aggregator/report_puller.hpp"
#include "aggregator/self_metrics.hpp"
#include "aggregator/snapshot_render.hpp"
#include "aggregator/web/web.hpp"
#include "common/duration.hpp"
#include "common/logging.hpp"
#include "common/rfc3339.hpp"
#include "common/stop_signals.hpp"
#include "http/server_collector.hpp"
#include "http/tls.hpp"
#include "kube/sync_status.hpp"
#include "kube/watch_collector.hpp"
#include "metrics/build_info.hpp"
#include "metrics/family.hpp"
#include "metrics/process_collector.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <csignal>
#include <iostream>

#include <sys/resource.h>

namespace nodepack::aggregator {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
using http::Reply;
using http::Request;

json::value optional_time(const std::optional<std::chrono::system_clock::time_point>& t) {
  return t ? json::value(format_rfc3339(*t)) : json::value(nullptr);
}

Reply text_reply(const Request& request, beast::http::status status, std::string body,
                 std::string_view content_type = "text/plain; charset=utf-8") {
  return Reply{http::make_response(request, status, std::move(body), content_type), {}};
}

// File descriptors we may keep as idle agent connections, leaving room for the API server,
// scrapes and a round's worth of fresh connections.
std::size_t idle_connection_budget(std::size_t concurrency) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return 1024;
  }
  const std::size_t reserve = 256 + concurrency;
  return limit.rlim_cur > reserve ? static_cast<std::size_t>(limit.rlim_cur) - reserve : 0;
}

// The web UI's calls into the authenticator, as coroutines that own their arguments: the password
// is hashed on the authenticator's pool while the serving thread answers other requests.
asio::awaitable<web::LoginOutcome> web_login(auth::Authenticator& auth, std::string user, std::string password,
                                             http::RequestInfo info) {
  auto login = co_await auth.login_async(std::move(user), std::move(password), info);
  if (!login) {
    co_return web::LoginRefusal{std::move(login.error().message), login.error().retry_after, login.error().busy};
  }
  co_return std::move(*login);
}

asio::awaitable<std::variant<web::Viewer, http::Response>> web_viewer(auth::Authenticator& auth, const Request& request,
                                                                      const http::RequestInfo& info) {
  auto who = co_await auth.authenticate_async(request, info);
  if (auto* principal = std::get_if<auth::Principal>(&who)) {
    co_return web::Viewer{std::move(principal->user), std::move(principal->namespaces)};
  }
  co_return std::get<http::Response>(std::move(who));
}

// Whether the request takes gzip, decided exactly as http::maybe_gzip decides it (which keeps its
// Accept-Encoding parser private): offer it a compressible body and see whether it compresses.
bool accepts_gzip(const Request& request) {
  http::Response probe(beast::http::status::ok, request.version());
  probe.body().assign(2048, ' ');
  http::maybe_gzip(request, probe);
  return probe.count(beast::http::field::content_encoding) != 0;
}

// A large body as chunks of a streamed reply; false once the peer is gone.
asio::awaitable<bool> write_in_slices(http::ChunkWriter& writer, std::string_view text) {
  constexpr std::size_t slice = 256 * 1024;
  for (std::size_t at = 0; at < text.size(); at += slice) {
    if (!co_await writer.write(text.substr(at, slice))) {
      co_return false;
    }
  }
  co_return true;
}

}  // namespace

const std::string& PublishedSnapshot::metrics_text() const {
  std::call_once(metrics_once_, [this] {
    metrics_text_ = render_snapshot_metrics(*snapshot_);
    text_ready_ = true;
  });
  return metrics_text_;
}

const DeflatedPrefix& PublishedSnapshot::metrics_deflated() const {
  std::call_once(deflated_once_, [this] {
    metrics_deflated_ = deflate_prefix(metrics_text());
    deflated_ready_ = true;
  });
  return metrics_deflated_;
}

const std::string& PublishedSnapshot::scraped_text(SteadyTime now) const {
  text_asked_ = now.time_since_epoch().count();
  return metrics_text();
}

const DeflatedPrefix& PublishedSnapshot::scraped_deflated(SteadyTime now) const {
  deflated_asked_ = now.time_since_epoch().count();
  return metrics_deflated();
}

PublishedSnapshot::Asked PublishedSnapshot::asked() const {
  return {SteadyTime(SteadyTime::duration(text_asked_.load())),
          SteadyTime(SteadyTime::duration(deflated_asked_.load()))};
}

void PublishedSnapshot::render_ahead(Asked previous, const PublishedSnapshot& next, SteadyTime now,
                                     std::chrono::nanoseconds window) {
  const auto recent = [&](SteadyTime t) { return t != SteadyTime{} && now - t < window; };
  if (!recent(previous.text) && !recent(previous.deflated)) {
    return;
  }
  next.text_asked_ = previous.text.time_since_epoch().count();
  next.deflated_asked_ = previous.deflated.time_since_epoch().count();
  if (recent(previous.deflated)) {
    next.metrics_deflated();  // and the text it is made from
  } else {
    next.metrics_text();
  }
}

const std::string& PublishedSnapshot::json_text() const {
  std::call_once(json_once_, [this] { json_text_ = snapshot_json_text(*snapshot_); });
  return json_text_;
}

const DeflatedPrefix& PublishedSnapshot::json_deflated() const {
  std::call_once(json_deflated_once_, [this] { json_deflated_ = deflate_prefix(json_text()); });
  return json_deflated_;
}

Aggregator::Aggregator(AggregatorOptions options, kube::ClusterConfig cluster, const Clock& clock,
                       AggregatorTuning tuning)
    : options_(std::move(options)),
      cluster_(std::move(cluster)),
      clock_(clock),
      tuning_(tuning),
      started_(clock.now()),
      config_(std::make_shared<const SnapshotConfig>(SnapshotConfig::from(options_))) {}

Aggregator::~Aggregator() { stop(); }

std::vector<const kube::Reflector*> Aggregator::reflectors() const {
  std::vector<const kube::Reflector*> out{node_reflector_.get()};
  for (const auto* r : {agent_reflector_.get(), pending_reflector_.get(), own_reflector_.get()}) {
    if (r != nullptr) {
      out.push_back(r);
    }
  }
  return out;
}

bool Aggregator::sources_synced() const {
  return node_reflector_->status().synced && (!agent_reflector_ || agent_reflector_->status().synced) &&
         (!own_reflector_ || own_reflector_->status().synced);
}

OwnFigures Aggregator::own_figures(std::chrono::system_clock::time_point now) const {
  OwnFigures own;
  if (!own_pods_) {
    own.reason = "--node-source=agents";
    return own;
  }
  own.node = [pods = own_pods_.get()](const std::string& node) { return pods->node(node); };
  const auto s = own_reflector_->status();
  if (!s.synced) {
    own.reason = "pod watch not synced yet";
  } else if (s.failing_since && now - *s.failing_since > options_.stale_after) {
    // Like a report older than --stale-after: the totals may have missed events since.
    own.reason = "pod watch failing since " + format_rfc3339(*s.failing_since) + ": " + s.last_error;
  } else {
    own.usable = true;
  }
  return own;
}

bool Aggregator::ready(std::string* reason) const {
  for (const auto* r : reflectors()) {
    if (!r->ready()) {
      if (reason != nullptr) {
        const auto s = r->status();
        *reason = s.synced ? s.resource + " watch failing: " + s.last_error : s.resource + " not synced";
      }
      return false;
    }
  }
  if (rounds_.load() == 0 || !published()) {
    if (reason != nullptr) {
      *reason = "no pull round completed yet";
    }
    return false;
  }
  return true;
}

bool Aggregator::leading() const { return !elector_ || elector_->leading(); }

std::shared_ptr<const PublishedSnapshot> Aggregator::published() const {
  std::lock_guard lock(mutex_);
  return published_;
}

double Aggregator::cache_age_seconds() const {
  // The stalest input: each watch's last word from the API server, and the last pull round.
  std::optional<std::chrono::system_clock::time_point> oldest;
  bool unknown = false;
  for (const auto* r : reflectors()) {
    const auto s = r->status();
    if (!s.last_activity) {
      unknown = true;
    } else if (!oldest || *s.last_activity < *oldest) {
      oldest = s.last_activity;
    }
  }
  {
    std::lock_guard lock(mutex_);
    if (!round_.last_end) {
      unknown = true;
    } else if (!oldest || *round_.last_end < *oldest) {
      oldest = round_.last_end;
    }
  }
  const auto since = unknown || !oldest ? started_ : *oldest;
  return std::max(0.0, std::chrono::duration<double>(clock_.now() - since).count());
}

Result<void> Aggregator::start() {
  auto client = kube::ApiClient::create(cluster_, clock_);
  if (!client) {
    return client.error();
  }
  client_ = std::move(*client);
  inventory_ = std::make_unique<Inventory>(options_, [this] { schedule_rebuild(); });
  resize_ = std::make_unique<kube::ResizeTracker>(options_.resize_semantics, [this](kube::ResizeSemantics semantics) {
    inventory_->set_semantics(semantics);  // on the work thread, like every watch event
    if (own_pods_) {
      own_pods_->set_semantics(semantics);
    }
    schedule_rebuild();
  });
  inventory_->set_semantics(resize_->semantics());
  if (options_.node_source != NodeSource::agents) {
    // Every resource a figure needs: the exported ones and those the fit shapes ask about.
    std::vector<std::string> tracked = options_.resources;
    for (const auto& shape : options_.fit_shapes) {
      for (const auto& [resource, quantity] : shape.requests) {
        if (std::find(tracked.begin(), tracked.end(), resource) == tracked.end()) {
          tracked.push_back(resource);
        }
      }
    }
    if (std::find(tracked.begin(), tracked.end(), "pods") == tracked.end()) {
      tracked.push_back("pods");  // free pod slots bound the fit
    }
    own_pods_ = std::make_unique<ClusterPods>(std::move(tracked), resize_->semantics(), [this] { schedule_rebuild(); });
  }
  PullerOptions pull;
  pull.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(options_.pull_timeout);
  pull.concurrency = static_cast<std::size_t>(options_.pull_concurrency);
  pull.max_body_bytes = static_cast<std::size_t>(options_.max_report_bytes);
  pull.max_idle_connections =
      std::min(static_cast<std::size_t>(options_.pull_idle_connections), idle_connection_budget(pull.concurrency));
  puller_ = std::make_unique<ReportPuller>(pull);
  self_ = std::make_shared<SelfMetrics>();

  auto reflector_options = [&](std::string resource, std::string path) {
    kube::ReflectorOptions o;
    o.resource = std::move(resource);
    o.path = std::move(path);
    o.page_size = options_.list_page_size;
    o.max_list_bytes = static_cast<std::uint64_t>(options_.max_list_bytes);
    o.max_event_bytes = static_cast<std::uint64_t>(options_.max_watch_event_bytes);
    o.initial_backoff = tuning_.initial_backoff;
    o.max_backoff = tuning_.max_backoff;
    o.min_watch_timeout = tuning_.min_watch_timeout;
    o.unready_after = std::chrono::duration_cast<std::chrono::milliseconds>(options_.unready_after);
    return o;
  };
  auto nodes = reflector_options("nodes", "/api/v1/nodes");
  nodes.label_selector = options_.node_selector;
  node_reflector_ = std::make_unique<kube::Reflector>(*client_, nodes, inventory_->node_sink(), clock_);
  if (own_pods_) {
    // Bound pods that hold requests; a pod that finishes leaves the selection (a DELETED event).
    auto bound = reflector_options("bound-pods", "/api/v1/pods");
    bound.field_selector = "spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed";
    own_reflector_ = std::make_unique<kube::Reflector>(*client_, bound, *own_pods_, clock_);
  }
  if (!options_.static_agents() && options_.node_source != NodeSource::api) {
    auto agents = reflector_options("agents", "/api/v1/namespaces/" + options_.agent_namespace + "/pods");
    agents.label_selector = options_.agent_selector;
    agent_reflector_ = std::make_unique<kube::Reflector>(*client_, agents, inventory_->agent_sink(), clock_);
  }
  if (options_.pending_pods) {
    auto pending = reflector_options("pending-pods", "/api/v1/pods");
    pending.field_selector = "spec.nodeName=,status.phase=Pending";
    pending_reflector_ = std::make_unique<kube::Reflector>(*client_, pending, inventory_->pending_sink(), clock_);
  }

  // The cache age moves with the clock, not with snapshots: computed at each scrape.
  registry_.add(std::make_shared<metrics::FunctionCollector>([this] {
    std::vector<prometheus::MetricFamily> out;
    metrics::Family::gauge("kube_binpacking_cache_age_seconds", "Time since last informer cache sync")
        .add({}, cache_age_seconds())
        .into(out);
    return out;
  }));
  registry_.add(std::make_shared<metrics::FunctionCollector>([this] {
    std::vector<prometheus::MetricFamily> out;
    metrics::Family::gauge("kube_binpacking_leader_status",
                           "Whether this replica is the leader and exports the cluster series (1) or a follower (0)")
        .add({}, leading() ? 1.0 : 0.0)
        .into(out);
    return out;
  }));
  registry_.add(self_);
  registry_.add(std::make_shared<metrics::FunctionCollector>([this] { return usage_api_families(); }));
  registry_.add(std::make_shared<kube::WatchCollector>(reflectors(), *client_));
  registry_.add(std::make_shared<metrics::BuildInfoCollector>());
  registry_.add(std::make_shared<metrics::ProcessCollector>());

  if (auto api = start_usage_api(); !api) {
    return api.error();
  }
  http::ServerLimits limits;
  if (!options_.tls_cert.empty()) {
    auto tls = http::make_server_tls_context({options_.tls_cert, options_.tls_key, options_.tls_client_ca});
    if (!tls) {
      return tls.error();
    }
    limits.tls = std::move(*tls);
  }
  server_ = std::make_unique<http::Server>(serve_, make_router(), limits);
  registry_.add(std::make_shared<http::ServerCollector>(*server_));
  if (auto listening = server_->listen(options_.metrics_addr); !listening) {
    return fail("cannot listen on " + options_.metrics_addr + ": " + listening.error().message);
  }

  for (auto* r : {node_reflector_.get(), agent_reflector_.get(), pending_reflector_.get(), own_reflector_.get()}) {
    if (r != nullptr) {
      asio::co_spawn(work_, r->run(), asio::detached);
    }
  }
  asio::co_spawn(work_, pull_loop(), asio::detached);
  asio::co_spawn(work_, periodic_rebuild(), asio::detached);
  auto resize_run = resize_->run(
      *client_, [this] { return kube::watch_recoveries(reflectors()); }, clock_);
  asio::co_spawn(work_, std::move(resize_run), asio::detached);
  if (options_.leader_election) {
    LeaderElectionOptions election;
    election.lease_duration = options_.leader_election_lease_duration;
    election.renew_deadline = options_.leader_election_renew_deadline;
    election.retry_period = options_.leader_election_retry_period;
    election.lease_namespace =
        options_.leader_election_namespace.empty() ? default_lease_namespace() : options_.leader_election_namespace;
    election.lease_name = options_.leader_election_name;
    election.identity = default_leader_identity();
    elector_ = std::make_unique<LeaderElector>(*client_, std::move(election), clock_, nullptr);
    auto election_run = elector_->run();
    asio::co_spawn(work_, std::move(election_run), asio::detached);
  }
  work_thread_ = std::thread([this] { work_.run(); });
  serve_thread_ = std::thread([this] { serve_.run(); });
  spdlog::info(
      "aggregator serving on {}:{} (API server {}, {}; node source {}; agents {}); in-place resize semantics {}",
      endpoint().address().to_string(), endpoint().port(), cluster_.server, cluster_.source,
      node_source_name(options_.node_source),
      options_.node_source == NodeSource::api ? std::string("not used")
      : options_.static_agents()              ? std::to_string(options_.agents.size()) + " static"
                                 : "discovered in " + options_.agent_namespace + " by " + options_.agent_selector,
      resize_->describe());
  return {};
}

Result<void> Aggregator::start_usage_api() {
  if (options_.auth_enabled()) {
    auth::AuthOptions a;
    a.users_file = options_.auth_users_file;
    a.tokens_file = options_.auth_tokens_file;
    if (options_.auth_env_user) {
      spdlog::info("auth: user \"{}\" from API_USERNAME, every namespace (API_PASSWORD hashed at start)",
                   options_.auth_env_user->name);
      a.fixed_users.push_back(*options_.auth_env_user);
    }
    a.session_lifetime = std::chrono::duration_cast<std::chrono::seconds>(options_.auth_session_lifetime);
    a.rate_limit.max_failures = static_cast<std::size_t>(options_.auth_max_failures);
    a.rate_limit.window = std::chrono::duration_cast<std::chrono::seconds>(options_.auth_failure_window);
    a.hashing.threads = static_cast<std::size_t>(options_.auth_hash_threads);
    a.hashing.queue = static_cast<std::size_t>(options_.auth_hash_queue);
    a.clock = clock_;
    auto created = auth::Authenticator::create(std::move(a));
    if (!created) {
      return created.error();
    }
    auth_ = std::move(*created);
    auth_handoff_ = std::make_unique<auth::AuthHandoff>(*auth_);
  } else {
    spdlog::warn(
        "no --auth.users-file, --auth.tokens-file or API_USERNAME: the usage API and the web UI answer anyone");
  }
  std::unique_ptr<billing::PrometheusClient> prometheus;
  if (!options_.prometheus_url.empty()) {
    billing::PrometheusOptions p;
    p.url = options_.prometheus_url;
    p.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(options_.prometheus_timeout);
    p.max_bytes = static_cast<std::size_t>(options_.prometheus_max_bytes);
    p.ca_file = options_.prometheus_ca_file;
    p.bearer_token_file = options_.prometheus_bearer_token_file;
    auto client = billing::PrometheusClient::create(std::move(p));
    if (!client) {
      return client.error();
    }
    prometheus = std::move(*client);
  } else {
    spdlog::info("no --prometheus-url: the usage API under /api/ answers 503");
  }
  // Billing figures per namespace are not for everyone who can reach the port: an open API must
  // be asked for, never the result of a forgotten flag.
  if (prometheus && !options_.auth_enabled() && !options_.auth_anonymous) {
    return fail(
        "the usage API (--prometheus-url) needs --auth.users-file, --auth.tokens-file or API_USERNAME and "
        "API_PASSWORD; "
        "give --auth.anonymous to let anyone query it");
  }
  billing::ApiOptions api;
  api.max_range = std::chrono::duration_cast<std::chrono::seconds>(options_.api_max_range);
  api.billing_step = std::chrono::duration_cast<std::chrono::seconds>(options_.api_billing_step).count();
  billing::Authenticate authenticate;
  if (auth_) {
    // The API's routes are wrapped in make_router so that this finds the result of an
    // authentication that hashed on the pool (auth/handoff.hpp).
    authenticate = [handoff = auth_handoff_.get()](
                       const Request& request,
                       const http::RequestInfo& info) -> std::variant<billing::Access, http::Response> {
      auto who = handoff->authenticate(request, info);
      if (auto* principal = std::get_if<auth::Principal>(&who)) {
        return billing::Access{std::move(principal->user), std::move(principal->namespaces)};
      }
      return std::get<http::Response>(std::move(who));
    };
  }
  api_ = std::make_unique<billing::Api>(std::move(prometheus), api, clock_, std::move(authenticate));
  return {};
}

std::vector<prometheus::MetricFamily> Aggregator::usage_api_families() const {
  std::vector<prometheus::MetricFamily> out;
  auto replies =
      metrics::Family::counter("nodepack_usage_api_replies_total",
                               "Replies of the usage API (/api/<metric>, /api/v1/accounting) by outcome: ok, "
                               "refused (4xx), prometheus_failed (502), unavailable (503 API off, 501)");
  const auto& s = api_->stats();
  replies.add({{"outcome", "ok"}}, static_cast<double>(s.ok.load()));
  replies.add({{"outcome", "refused"}}, static_cast<double>(s.refused.load()));
  replies.add({{"outcome", "prometheus_failed"}}, static_cast<double>(s.prometheus_failures.load()));
  replies.add({{"outcome", "unavailable"}}, static_cast<double>(s.unavailable.load()));
  std::move(replies).into(out);
  if (auth_) {
    const auto& a = auth_->stats();
    auto attempts = metrics::Family::counter(
        "nodepack_auth_attempts_total",
        "Authentication attempts on the usage API and web UI by result: ok, failed (wrong credentials), "
        "rate_limited (429), missing (no or stale credentials), busy (503: too many passwords to hash at once)");
    attempts.add({{"result", "ok"}}, static_cast<double>(a.successes.load()));
    attempts.add({{"result", "failed"}}, static_cast<double>(a.failures.load()));
    attempts.add({{"result", "rate_limited"}}, static_cast<double>(a.rate_limited.load()));
    attempts.add({{"result", "missing"}}, static_cast<double>(a.missing.load()));
    attempts.add({{"result", "busy"}}, static_cast<double>(a.busy.load()));
    std::move(attempts).into(out);
    auto reloads = metrics::Family::counter("nodepack_auth_file_reloads_total",
                                            "Re-reads of the users and tokens files by result (error: old table kept)");
    reloads.add({{"result", "ok"}}, static_cast<double>(a.reloads.load()));
    reloads.add({{"result", "error"}}, static_cast<double>(a.reload_errors.load()));
    std::move(reloads).into(out);
    auto sessions = metrics::Family::gauge("nodepack_auth_sessions", "Web sessions currently open");
    sessions.add({}, static_cast<double>(auth_->session_count()));
    std::move(sessions).into(out);
  }
  return out;
}

web::WebDeps Aggregator::web_deps() {
  web::WebDeps deps;
  deps.secure_cookie = options_.secure_cookie();
  deps.unknown_metric_hint = billing::unknown_metric_hint;
  if (auth_) {
    deps.login = [auth = auth_.get()](std::string user, std::string password, const http::RequestInfo& info) {
      return web_login(*auth, std::move(user), std::move(password), info);
    };
    deps.logout = [auth = auth_.get()](std::string_view token) { auth->logout(token); };
    deps.authenticate = [auth = auth_.get()](const Request& request, const http::RequestInfo& info) {
      return web_viewer(*auth, request, info);
    };
  } else {
    deps.login = [](std::string, std::string, const http::RequestInfo&) -> asio::awaitable<web::LoginOutcome> {
      co_return web::LoginRefusal{
          "this aggregator has no users (no --auth.users-file); the pages are open without logging in",
          std::chrono::seconds{0}};
    };
    deps.logout = [](std::string_view) {};
    deps.authenticate = [](const Request&,
                           const http::RequestInfo&) -> asio::awaitable<std::variant<web::Viewer, http::Response>> {
      co_return web::Viewer{};
    };
  }
  return deps;
}

void Aggregator::stop() {
  if (server_) {
    server_->stop();
  }
  serve_.stop();
  work_.stop();
  for (auto* t : {&serve_thread_, &work_thread_}) {
    if (t->joinable()) {
      t->join();
    }
  }
}

boost::asio::ip::tcp::endpoint Aggregator::endpoint() const { return server_->endpoint(); }

asio::awaitable<void> Aggregator::pull_loop() {
  asio::steady_timer timer(work_);
  for (;;) {
    if (!sources_synced()) {
      // The first round waits for the node set and the agents; polling a flag is cheaper here
      // than threading a notification through the reflector.
      timer.expires_after(std::chrono::milliseconds(50));
      co_await timer.async_wait(asio::use_awaitable);
      continue;
    }
    const auto start = std::chrono::steady_clock::now();
    auto targets = inventory_->targets();
    std::array<std::size_t, pull_error_count> failures{};
    std::size_t failed = 0;
    const std::size_t target_count = targets.size();
    // The agents check who pulls: the aggregator's own credentials (its service account token).
    std::string authorization;
    if (auto auth = co_await client_->credentials().async_authorization()) {
      authorization = std::move(*auth);
    } else {
      spdlog::warn("pull round without credentials: {}", auth.error().message);
    }
    // The first round as fast as it goes (readiness waits for it); later ones at a steady pace.
    const auto spread =
        rounds_ == 0
            ? std::chrono::nanoseconds::zero()
            : std::chrono::duration_cast<std::chrono::nanoseconds>(options_.pull_interval * options_.pull_spread);
    co_await puller_->round(
        std::move(targets),
        [&](const AgentTarget& target, PullResult<Pulled> pulled) {
          const auto now = clock_.now();
          if (pulled && std::holds_alternative<Unchanged>(*pulled)) {
            // The agent confirmed its last report: as good as a new one built now.
            if (!inventory_->confirm(target, now)) {
              puller_->forget(target);  // nothing kept to reuse: the next round asks for it all
            }
            self_->pull_unchanged();
            return;
          }
          PullResult<NodeReport> result = pulled ? PullResult<NodeReport>(std::get<NodeReport>(std::move(*pulled)))
                                                 : PullResult<NodeReport>(pulled.error());
          if (result) {
            self_->pull_ok(std::chrono::duration<double>(now - result->built_at).count());
            self_->topology_block(result->topology                 ? SelfMetrics::TopologyBlock::ok
                                  : result->topology_error.empty() ? SelfMetrics::TopologyBlock::absent
                                                                   : SelfMetrics::TopologyBlock::invalid);
          } else {
            self_->pull_failed(result.error().reason);
            ++failures[static_cast<std::size_t>(result.error().reason)];
            ++failed;
            spdlog::debug("pull {} (node {}): {}: {}", target.key(), target.node.empty() ? "?" : target.node,
                          pull_error_name(result.error().reason), result.error().message);
          }
          inventory_->record(target, std::move(result), now);
        },
        std::move(authorization), spread);
    if (puller_->last_round_unauthorized() > 0) {
      client_->credentials().invalidate();  // a rotated token: the next round reads it again
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    self_->round_done(seconds, target_count, puller_->open_connections());
    if (failed > 0) {
      std::string summary;
      for (std::size_t i = 0; i < failures.size(); ++i) {
        if (failures[i] > 0) {
          summary += (summary.empty() ? "" : ", ") + std::string(pull_error_name(static_cast<PullError>(i))) + "=" +
                     std::to_string(failures[i]);
        }
      }
      spdlog::warn("pull round: {} of {} agents gave no usable report ({}); see /sync", failed, target_count, summary);
    }
    {
      std::lock_guard lock(mutex_);
      round_.last_end = clock_.now();
      round_.last_seconds = seconds;
      round_.last_targets = target_count;
      round_.last_failures = failed;
    }
    rebuild_snapshot();
    rebuild_topology();
    ++rounds_;
    timer.expires_at(start + options_.pull_interval);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

void Aggregator::schedule_rebuild() {
  if (rebuild_pending_) {
    return;
  }
  rebuild_pending_ = true;
  asio::co_spawn(work_, debounced_rebuild(), asio::detached);
}

asio::awaitable<void> Aggregator::debounced_rebuild() {
  asio::steady_timer timer(work_);
  timer.expires_after(tuning_.snapshot_debounce);
  co_await timer.async_wait(asio::use_awaitable);
  rebuild_pending_ = false;
  rebuild_snapshot();
}

asio::awaitable<void> Aggregator::periodic_rebuild() {
  // Reports age even when nothing else happens; pull rounds rebuild anyway, this covers a stuck
  // round and the --resync-period KBE users set.
  asio::steady_timer timer(work_);
  for (;;) {
    timer.expires_after(std::min<std::chrono::nanoseconds>(options_.resync_period, options_.stale_after / 4));
    co_await timer.async_wait(asio::use_awaitable);
    rebuild_snapshot();
  }
}

void Aggregator::rebuild_snapshot() {
  const auto start = std::chrono::steady_clock::now();
  const auto now = clock_.now();
  auto inputs = inventory_->inputs(now);
  inputs.own = own_figures(now);
  auto snapshot = build_snapshot(inputs, config_, ++sequence_);
  auto published = std::make_shared<const PublishedSnapshot>(std::move(snapshot));
  const double built = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  PublishedSnapshot::Asked asked;
  {
    std::lock_guard lock(mutex_);
    if (published_) {
      asked = published_->asked();
    }
    published_ = published;  // the previous one, and its renderings, go unless a reply still holds them
  }
  // Published first, so that the two renderings are not held at once (83 MB of text each at 65,000
  // nodes); a scrape that comes meanwhile waits for this one instead of rendering it again.
  // Scraped within the last two minutes or two pull intervals: Prometheus scrapes every 15-60 s.
  PublishedSnapshot::render_ahead(
      asked, *published, clock_.steady_now(),
      std::max<std::chrono::nanoseconds>(2 * options_.pull_interval, std::chrono::minutes(2)));
  self_->snapshot_built(built);
}

void Aggregator::rebuild_topology() {
  // Once a round, not with every snapshot: merging every node's edges is the costlier build, and
  // the rates only move when a round brings new counters (or a node's last one goes stale).
  auto graph = std::make_shared<const TopologyGraph>(
      build_topology_graph(inventory_->topology(), clock_.now(), options_.stale_after));
  std::lock_guard lock(mutex_);
  topology_ = std::move(graph);
}

std::shared_ptr<const TopologyGraph> Aggregator::topology() const {
  std::lock_guard lock(mutex_);
  return topology_;
}

http::Reply Aggregator::streamed_metrics(const Request& request, std::string_view content_type) const {
  // The cluster series of a large cluster are tens of megabytes (80 MB at 65,000 nodes): sent from
  // the published snapshot's own text, chunk by chunk, rather than copied into a reply per scrape,
  // so a scrape costs no memory beyond the socket's buffers. The snapshot stays alive while it is
  // sent even if a newer one is published meanwhile.
  // A follower exports no cluster series: two replicas must never double a sum.
  auto snapshot = leading() ? published() : nullptr;
  Reply reply{http::make_response(request, beast::http::status::ok, "", content_type), {}};
  reply.stream = [this, snapshot = std::move(snapshot)](http::ChunkWriter& writer) -> asio::awaitable<void> {
    if (snapshot && !co_await write_in_slices(writer, snapshot->scraped_text(clock_.steady_now()))) {
      co_return;
    }
    const std::string own = registry_.render();
    co_await writer.write(own);
  };
  return reply;
}

std::string Aggregator::render_metrics_gzip() const {
  static const DeflatedPrefix empty = deflate_prefix("");
  const auto p = leading() ? published() : nullptr;
  return gzip_with_prefix(p ? p->scraped_deflated(clock_.steady_now()) : empty, registry_.render());
}

http::Router Aggregator::make_router() {
  http::Router router;
  router.add("/", [this](const Request& r) {
    return text_reply(r, beast::http::status::ok, index_page_html(options_), "text/html; charset=utf-8");
  });
  router.add(options_.metrics_path, [this](const Request& r) {
    constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";
    if (accepts_gzip(r)) {
      auto response = http::make_response(r, beast::http::status::ok, render_metrics_gzip(), content_type);
      response.set(beast::http::field::content_encoding, "gzip");
      response.set(beast::http::field::vary, "Accept-Encoding");
      response.prepare_payload();
      return Reply{std::move(response), {}};
    }
    return streamed_metrics(r, content_type);
  });
  router.add("/healthz", [](const Request& r) { return text_reply(r, beast::http::status::ok, "ok"); });
  router.add("/readyz", [this](const Request& r) {
    std::string reason;
    if (ready(&reason)) {
      return text_reply(r, beast::http::status::ok, "ready");
    }
    return text_reply(r, beast::http::status::service_unavailable, "not ready: " + reason);
  });
  router.add("/sync", [this](const Request& r) { return sync_page(r); });
  // The usage API (/api, /api/<metric>, /api/v1/accounting) and the web UI (/web...); the exact
  // route /api/snapshot below stays as it was, open like /metrics.
  if (auth_ && !options_.prometheus_url.empty()) {
    // The API checks credentials synchronously; behind the handoff a password is hashed on the
    // authenticator's pool first. Its routes go into a router of their own, reached through the
    // two roots it registers ("/api" and the "/api/" prefix).
    http::Router api_routes;
    api_->add_routes(api_routes);
    auto routes = std::make_shared<const http::Router>(std::move(api_routes));
    auto api = auth_handoff_->wrap(
        [routes](const Request& request, const http::RequestInfo& info) { return routes->route_async(request, info); });
    router.add_async("/api", api);
    router.add_async_prefix("/api/", api);
  } else {
    api_->add_routes(router);  // no password to hash: open, or answering 503 without Prometheus
  }
  web::add_web_routes(router, web_deps());
  // Exact, so it wins over the usage API's "/api/" prefix; authenticated like the usage API and
  // the web UI (session cookie, token, Basic), open when the aggregator has no users.
  router.add_async("/api/topology",
                   [this](const Request& r, const http::RequestInfo& info) { return topology_reply(r, info); });
  router.add("/api/snapshot", [this](const Request& r) {
    auto p = published();
    if (!p) {
      return text_reply(r, beast::http::status::service_unavailable, "{\"error\":\"no snapshot yet\"}\n",
                        "application/json");
    }
    // Compressed once per snapshot (a browser always asks for gzip), or sent from the cached text
    // without a copy: tens of megabytes in a large cluster.
    if (accepts_gzip(r)) {
      auto response =
          http::make_response(r, beast::http::status::ok, gzip_with_prefix(p->json_deflated(), ""), "application/json");
      response.set(beast::http::field::cache_control, "no-store");
      response.set(beast::http::field::content_encoding, "gzip");
      response.set(beast::http::field::vary, "Accept-Encoding");
      response.prepare_payload();
      return Reply{std::move(response), {}};
    }
    Reply reply{http::make_response(r, beast::http::status::ok, "", "application/json"), {}};
    reply.response.set(beast::http::field::cache_control, "no-store");
    reply.stream = [p](http::ChunkWriter& writer) -> asio::awaitable<void> {
      co_await write_in_slices(writer, p->json_text());
    };
    return reply;
  });
  return router;
}

asio::awaitable<http::Reply> Aggregator::topology_reply(const Request& request, http::RequestInfo info) const {
  if (request.method() != beast::http::verb::get && request.method() != beast::http::verb::head) {
    auto reply = billing::json_error(request, beast::http::status::method_not_allowed, "method_not_allowed",
                                     "/api/topology answers GET");
    reply.response.set(beast::http::field::allow, "GET, HEAD");
    co_return reply;
  }
  std::vector<std::string> allowed;  // empty: every namespace
  if (auth_) {
    auto who = co_await auth_->authenticate_async(request, info);
    if (auto* refusal = std::get_if<http::Response>(&who)) {
      co_return Reply{std::move(*refusal), {}};
    }
    allowed = std::get<auth::Principal>(std::move(who)).namespaces;
  }
  const auto graph = topology();
  if (!graph) {
    co_return billing::json_error(request, beast::http::status::service_unavailable, "not_ready",
                                  "no pull round has completed yet");
  }
  // A user restricted to some namespaces sees the edges that touch one of them, as does ?namespace=.
  const std::string wanted = http::query_param(request, "namespace");
  const auto visible = [&](std::string_view ns) {
    return (wanted.empty() || ns == wanted) &&
           (allowed.empty() || std::find(allowed.begin(), allowed.end(), ns) != allowed.end());
  };
  const bool filtered = !wanted.empty() || !allowed.empty();
  auto body = json::serialize(topology_json(
      *graph, filtered ? std::function<bool(std::string_view)>(visible) : std::function<bool(std::string_view)>()));
  auto response = http::make_response(request, beast::http::status::ok, std::move(body) + "\n", "application/json");
  response.set(beast::http::field::cache_control, "no-store");
  http::maybe_gzip(request, response);
  co_return Reply{std::move(response), {}};
}

http::Reply Aggregator::sync_page(const Request& request) const {
  std::vector<kube::ReflectorStatus> statuses;
  for (const auto* r : reflectors()) {
    statuses.push_back(r->status());
  }
  auto out = kube::sync_json(statuses, cache_age_seconds(), options_.resync_period);
  RoundInfo round;
  {
    std::lock_guard lock(mutex_);
    round = round_;
  }
  out["ready"] = ready();
  out["resize_semantics"] = resize_->json();
  out["node_source"] = node_source_name(options_.node_source);
  out["leader_election"] = elector_ ? elector_->json() : json::object{{"enabled", false}, {"leading", true}};
  if (own_pods_) {
    const auto own = own_figures(clock_.now());
    out["own_figures"] = json::object{{"usable", own.usable}, {"reason", own.reason}};
  }
  out["pull"] = json::object{{"rounds", rounds_.load()},
                             {"last_round_end", optional_time(round.last_end)},
                             {"last_round_seconds", round.last_seconds},
                             {"last_round_agents", round.last_targets},
                             {"last_round_failures", round.last_failures},
                             {"interval", format_go_duration(options_.pull_interval)},
                             {"stale_after", format_go_duration(options_.stale_after)}};
  if (auto p = published()) {
    const auto& snapshot = p->snapshot();
    out["snapshot"] = json::object{{"sequence", snapshot.sequence},
                                   {"built_at", format_rfc3339(snapshot.built_at)},
                                   {"node_count", snapshot.cluster.node_count},
                                   {"reporting_nodes", snapshot.cluster.reporting_nodes}};
    out["nodes"] = freshness_lists(snapshot);
    out["nodes_by_source"] = source_lists(snapshot);
    out["problems"] = freshness_problems(snapshot);
  } else {
    out["snapshot"] = nullptr;
    out["nodes"] = json::object{
        {"fresh", json::array()}, {"stale", json::array()}, {"missing", json::array()}, {"invalid", json::array()}};
    out["nodes_by_source"] = json::object{{"none", json::array()}, {"agent", json::array()}, {"api", json::array()}};
    out["problems"] = json::array();
  }
  auto response =
      http::make_response(request, beast::http::status::ok, json::serialize(out) + "\n", "application/json");
  http::maybe_gzip(request, response);
  return Reply{std::move(response), {}};
}

int run_aggregator(const std::vector<std::string>& args) {
  auto options = parse_aggregator_options(args);
  if (!options) {
    std::cerr << "nodepack aggregator: " << options.error().message << "\n";
    return 2;
  }
  if (options->help) {
    std::cout << aggregator_usage();
    return 0;
  }
  // Before anything can log or start a child process: the password is hashed and wiped here.
  auto env_user = auth::user_from_environment();
  if (!env_user) {
    std::cerr << "nodepack aggregator: " << env_user.error().message << "\n";
    return 2;
  }
  options->auth_env_user = std::move(*env_user);
  if (auto logging = setup_logging(options->log_level, options->log_format); !logging) {
    std::cerr << "nodepack aggregator: " << logging.error().message << "\n";
    return 2;
  }
  auto cluster =
      kube::resolve_cluster_config(kube::ConfigRequest::from_environment(options->kubeconfig, options->context));
  if (!cluster) {
    spdlog::critical("{}", cluster.error().message);
    return 1;
  }
  // One kept-alive connection per agent needs a descriptor each: use the hard limit, as Go
  // programs do by default.
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
      spdlog::warn("cannot raise the open file limit; fewer agent connections will be kept open");
    }
  }
  StopSignals stop_signals;  // before any thread starts

  Aggregator aggregator(std::move(*options), std::move(*cluster), SystemClock::instance());
  if (auto started = aggregator.start(); !started) {
    spdlog::critical("{}", started.error().message);
    return 1;
  }
  spdlog::info("received {}, shutting down", stop_signals.wait());
  aggregator.stop();
  return 0;
}

}  // namespace nodepack::aggregator
