#include "agent/nrt_source.hpp"

#include "agent/nrt_object.hpp"
#include "metrics/family.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

namespace nodepack::agent {

namespace json = boost::json;
namespace bhttp = boost::beast::http;

namespace {

class NrtCollector final : public prometheus::Collectable {
 public:
  explicit NrtCollector(const NrtSource& source) : source_(source) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    const auto s = source_.status();
    std::vector<prometheus::MetricFamily> out;
    auto writes = metrics::Family::counter("nodepack_agent_nrt_writes_total",
                                           "Writes of this node's NodeResourceTopology object, by result.");
    writes.add({{"result", "created"}}, static_cast<double>(s.created));
    writes.add({{"result", "updated"}}, static_cast<double>(s.updated));
    writes.add({{"result", "conflict"}}, static_cast<double>(s.conflicts));
    writes.add({{"result", "error"}}, static_cast<double>(s.errors));
    auto last = metrics::Family::gauge("nodepack_agent_nrt_last_write_timestamp_seconds",
                                       "When the NodeResourceTopology object was last written, seconds since the "
                                       "Unix epoch.");
    if (s.last_write) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(s.last_write->time_since_epoch());
      last.add({}, static_cast<double>(ms.count()) / 1000.0);
    }
    metrics::emit(out, writes, last);
    return out;
  }

 private:
  const NrtSource& source_;
};

std::string resource_version_of(const std::string& body) {
  boost::system::error_code ec;
  const auto v = json::parse(body, ec);
  if (ec || !v.is_object()) {
    return {};
  }
  const auto* meta = v.as_object().if_contains("metadata");
  const auto* rv = meta != nullptr && meta->is_object() ? meta->as_object().if_contains("resourceVersion") : nullptr;
  return rv != nullptr && rv->is_string() ? std::string(rv->as_string()) : std::string();
}

}  // namespace

NrtSource::NrtSource(NrtOptions options, kube::ApiClient& client, const numa::NumaState& numa, const NodeState& node,
                     const Clock& clock)
    : options_(std::move(options)), client_(client), numa_(numa), node_(node), clock_(clock) {
  collector_ = std::make_shared<NrtCollector>(*this);
}

void NrtSource::start() {
  spdlog::info("nrt: keeping NodeResourceTopology {} current (at most every {} ms; topology manager {}/{} from {})",
               options_.node_name, options_.interval.count(), options_.topology_manager.policy,
               options_.topology_manager.scope, options_.topology_manager.source);
}

NrtSource::Status NrtSource::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

boost::asio::awaitable<bool> NrtSource::write(json::object object) {
  const std::string item = std::string(nrt_collection) + "/" + options_.node_name;
  for (int attempt = 0; attempt < 4; ++attempt) {
    std::string rv;
    {
      std::lock_guard lock(mu_);
      rv = status_.resource_version;
    }
    if (rv.empty()) {
      // Not known yet, or stale: read it, or create the object when there is none.
      std::string target = item;
      auto got = co_await client_.get(std::move(target), options_.request_timeout);
      if (got && got->status == 200) {
        rv = resource_version_of(got->body);
      } else if (got && got->status == 404) {
        std::string body = json::serialize(object);
        std::string collection = nrt_collection;
        auto created =
            co_await client_.send(bhttp::verb::post, std::move(collection), std::move(body), options_.request_timeout);
        if (created && (created->status == 201 || created->status == 200)) {
          std::lock_guard lock(mu_);
          ++status_.created;
          status_.resource_version = resource_version_of(created->body);
          co_return true;
        }
        if (created && created->status == 409) {
          continue;  // created by someone else meanwhile: read it and update
        }
        std::lock_guard lock(mu_);
        status_.last_error =
            created ? "create: HTTP " + std::to_string(created->status) + ": " + created->body.substr(0, 300)
                    : "create: " + created.error().message;
        co_return false;
      } else {
        std::lock_guard lock(mu_);
        status_.last_error = got ? "get: HTTP " + std::to_string(got->status) + ": " + got->body.substr(0, 300)
                                 : "get: " + got.error().message;
        co_return false;
      }
    }
    object["metadata"].as_object()["resourceVersion"] = rv;
    std::string body = json::serialize(object);
    std::string target = item;
    auto updated =
        co_await client_.send(bhttp::verb::put, std::move(target), std::move(body), options_.request_timeout);
    std::lock_guard lock(mu_);
    if (updated && updated->status == 200) {
      ++status_.updated;
      status_.resource_version = resource_version_of(updated->body);
      co_return true;
    }
    if (updated && (updated->status == 409 || updated->status == 404)) {
      // Written by someone else since (409), or deleted (404): read it again and retry.
      status_.conflicts += updated->status == 409 ? 1 : 0;
      status_.resource_version.clear();
      continue;
    }
    status_.last_error = updated
                             ? "update: HTTP " + std::to_string(updated->status) + ": " + updated->body.substr(0, 300)
                             : "update: " + updated.error().message;
    co_return false;
  }
  std::lock_guard lock(mu_);
  status_.last_error = "gave up after repeated conflicts";
  co_return false;
}

boost::asio::awaitable<void> NrtSource::run() {
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
  for (;;) {
    const auto snap = numa_.snapshot();
    if (snap->topology) {
      std::optional<NodeOwner> owner;
      if (auto node = node_.node()) {
        owner = NodeOwner{node->name, node->uid};
      }
      json::object object = nrt_object(*snap, options_.topology_manager, owner);
      std::string content = json::serialize(object);
      const auto now = clock_.steady_now();
      const bool due = content != written_ || written_at_ == std::chrono::steady_clock::time_point{} ||
                       now - written_at_ >= options_.resync;
      if (due) {
        const bool ok = co_await write(object);
        std::lock_guard lock(mu_);
        if (ok) {
          written_ = std::move(content);
          written_at_ = now;
          status_.last_write = clock_.now();
          status_.last_error.clear();
          status_.object = std::move(object);
        } else {
          ++status_.errors;
          spdlog::warn("nrt: could not write NodeResourceTopology {}: {}", options_.node_name, status_.last_error);
        }
      }
    }
    timer.expires_after(options_.interval);
    co_await timer.async_wait(boost::asio::use_awaitable);
  }
}

json::value NrtSource::debug_json() const {
  const auto s = status();
  json::object out{{"node", options_.node_name},
                   {"interval_ms", options_.interval.count()},
                   {"topology_manager", json::object{{"policy", options_.topology_manager.policy},
                                                     {"scope", options_.topology_manager.scope},
                                                     {"source", options_.topology_manager.source}}},
                   {"created", s.created},
                   {"updated", s.updated},
                   {"conflicts", s.conflicts},
                   {"errors", s.errors},
                   {"resource_version", s.resource_version},
                   {"last_error", s.last_error},
                   {"object", s.object}};
  return out;
}

}  // namespace nodepack::agent
