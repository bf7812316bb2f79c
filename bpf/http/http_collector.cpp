// kpod_http_requests_total{direction,method,status_class}, kpod_http_latency_seconds{direction}
// and kpod_http_unmatched_responses_total{direction}: HTTP/1.x seen by cgroup_skb programs on
// every kubepods cgroup (http.bpf.c says how); kpod_net_protocol_connections_total{direction,
// protocol}: connections by the protocol their first bytes show.
#include "bpf/cgroup_map_collector.hpp"
#include "bpf/collectors.hpp"
#include "bpf/http/http.h"
#include "bpf/log2_hist.hpp"

#include "http.skel.h"

#include <array>

namespace nodepack::bpf {
namespace {

// Label values, in the index order of http.h.
constexpr std::array<const char*, HTTP_DIRS> kDirections{"client", "server"};
constexpr std::array<const char*, HTTP_METHODS> kMethods{"GET",   "POST",    "PUT",   "DELETE",  "HEAD",
                                                         "PATCH", "OPTIONS", "other", "unparsed"};
constexpr std::array<const char*, NET_PROTOCOLS> kProtocols{"http", "redis", "postgresql", "mysql", "kafka"};
constexpr std::array<const char*, HTTP_STATUS_CLASSES> kStatusClasses{"1xx", "2xx", "3xx", "4xx", "5xx", "unparsed"};

using Collector = CgroupMapCollector<http_cg_stats>;

Result<CgroupMap> load(FeatureProbe& features) {
  if (!features.supports("cgroup_skb")) {
    return fail("no cgroup_skb programs on this kernel; HTTP per pod is not available");
  }
  // Nothing attaches here: the collector attaches both programs to every kubepods cgroup.
  auto skel = load_skeleton<http_bpf>([](http_bpf*) {});
  if (!skel) {
    return skel.error();
  }
  const bpf_map* map = (*skel)->maps.cg_http;
  std::vector<bpf_program*> programs{(*skel)->progs.http_ingress, (*skel)->progs.http_egress};
  return CgroupMap{LoadedObject(std::move(*skel)), map, "cgroup_skb", std::move(programs)};
}

void emit(const Collector::Rows& rows, const kpod::ScrapeContext& ctx, std::vector<prometheus::MetricFamily>& out) {
  auto requests = metrics::Family::counter("kpod_http_requests_total",
                                           "HTTP/1.x requests answered, by side, method and status class");
  auto latency = metrics::Family::histogram("kpod_http_latency_seconds",
                                            "HTTP/1.x request's first segment to its response's (seconds)");
  auto unmatched =
      metrics::Family::counter("kpod_http_unmatched_responses_total", "HTTP/1.x responses with no request seen");
  auto protocols = metrics::Family::counter("kpod_net_protocol_connections_total",
                                            "TCP connections by the protocol of their first payload bytes");
  // Only label sets that ever counted something: 108 mostly empty series per pod otherwise.
  for (const auto& r : rows) {
    for (std::size_t d = 0; d < HTTP_DIRS; ++d) {
      for (std::size_t m = 0; m < HTTP_METHODS; ++m) {
        for (std::size_t s = 0; s < HTTP_STATUS_CLASSES; ++s) {
          if (const auto n = r.value.requests[d][m][s]; n != 0) {
            requests.add(ctx.labels(r.id, {{"direction", kDirections[d]},
                                           {"method", kMethods[m]},
                                           {"status_class", kStatusClasses[s]}}),
                         static_cast<double>(n));
          }
        }
      }
      if (log2_samples(r.value.latency[d]) != 0) {
        add_log2_histogram(latency, ctx.labels(r.id, {{"direction", kDirections[d]}}), r.value.latency[d]);
      }
      for (std::size_t p = 0; p < NET_PROTOCOLS; ++p) {
        if (const auto n = r.value.protocol_connections[d][p]; n != 0) {
          protocols.add(ctx.labels(r.id, {{"direction", kDirections[d]}, {"protocol", kProtocols[p]}}),
                        static_cast<double>(n));
        }
      }
      if (r.value.unmatched_responses[d] != 0) {
        unmatched.add(ctx.labels(r.id, {{"direction", kDirections[d]}}),
                      static_cast<double>(r.value.unmatched_responses[d]));
      }
    }
  }
  metrics::emit(out, requests, latency, unmatched, protocols);
}

}  // namespace

std::unique_ptr<kpod::Collector> make_http_collector(const BpfDeps& deps) {
  return std::make_unique<Collector>("http", deps.features, load, emit, &deps.collector.resolver);
}

}  // namespace nodepack::bpf
