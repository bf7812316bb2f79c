#pragma once

// --nrt.export: keeps this node's NodeResourceTopology object current through the API server, so
// topology-aware schedulers (scheduler-plugins' NodeResourceTopologyMatch) see the NUMA zones the
// agent sees. Written when its content changed, at most every --nrt.interval, and again every
// few minutes so an object deleted by hand comes back. Create, then update with the
// resourceVersion last seen; a 409 (someone else wrote it) re-reads it and tries again.

#include "agent/kubelet_config.hpp"
#include "agent/node_state.hpp"
#include "agent/source.hpp"
#include "common/clock.hpp"
#include "kube/api_client.hpp"
#include "numa/numa_state.hpp"

#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>

namespace nodepack::agent {

struct NrtOptions {
  std::string node_name;
  std::chrono::milliseconds interval{10'000};
  std::chrono::milliseconds resync{300'000};  // rewrite unchanged content this often
  std::chrono::milliseconds request_timeout{10'000};
  TopologyManagerConfig topology_manager;
};

inline constexpr const char* nrt_collection = "/apis/topology.node.k8s.io/v1alpha2/noderesourcetopologies";

class NrtSource final : public Source {
 public:
  NrtSource(NrtOptions options, kube::ApiClient& client, const numa::NumaState& numa, const NodeState& node,
            const Clock& clock);

  std::string_view name() const override { return "nrt"; }
  void start() override;
  std::shared_ptr<prometheus::Collectable> collector() const override { return collector_; }
  boost::asio::awaitable<void> run() override;
  boost::json::value debug_json() const override;

  struct Status {
    std::uint64_t created = 0;
    std::uint64_t updated = 0;
    std::uint64_t conflicts = 0;
    std::uint64_t errors = 0;
    std::string resource_version;
    std::string last_error;
    std::optional<std::chrono::system_clock::time_point> last_write;
    boost::json::object object;  // what was last written
  };
  Status status() const;

 private:
  // One write of `object`, with retries on conflict. Returns whether it landed.
  boost::asio::awaitable<bool> write(boost::json::object object);

  NrtOptions options_;
  kube::ApiClient& client_;
  const numa::NumaState& numa_;
  const NodeState& node_;
  const Clock& clock_;
  std::shared_ptr<prometheus::Collectable> collector_;
  std::string written_;  // the content last written, without resourceVersion
  std::chrono::steady_clock::time_point written_at_{};
  mutable std::mutex mu_;
  Status status_;
};

}  // namespace nodepack::agent
