#include "http/server_collector.hpp"

#include "metrics/family.hpp"

namespace nodepack::http {

std::vector<prometheus::MetricFamily> ServerCollector::Collect() const {
  using metrics::Family;
  const auto& s = server_.stats();
  const auto value = [](const std::atomic<std::uint64_t>& v) { return static_cast<double>(v.load()); };
  const auto rejected = s.connections_rejected.load();
  const auto per_client = s.per_client_rejections.load();

  auto accepted = Family::counter("nodepack_http_connections_accepted_total",
                                  "Connections given a regular slot (health slots not included).");
  accepted.add({}, value(s.connections_accepted));
  auto refused = Family::counter("nodepack_http_connections_rejected_total",
                                 "Connections refused a regular slot: their address was at its per-client limit, "
                                 "or every slot was busy with nothing idle to evict.");
  refused.add({{"reason", "per_client"}}, static_cast<double>(per_client));
  refused.add({{"reason", "capacity"}}, static_cast<double>(rejected >= per_client ? rejected - per_client : 0));
  auto evictions = Family::counter("nodepack_http_evictions_total",
                                   "Idle connections closed to make room for a newcomer, by slot kind.");
  evictions.add({{"slot", "regular"}}, value(s.idle_evictions));
  evictions.add({{"slot", "health"}}, value(s.health_evictions));
  auto health =
      Family::counter("nodepack_http_health_requests_total", "Probe paths answered from a reserved health slot.");
  health.add({}, value(s.health_requests));
  auto sockets_refused = Family::counter(
      "nodepack_http_sockets_refused_total",
      "Sockets closed at accept: the socket ceiling, descriptors near the limit, or no slot of any kind.");
  sockets_refused.add({}, value(s.sockets_refused));
  auto pauses = Family::counter("nodepack_http_accept_pauses_total",
                                "Times accepting paused: descriptors near RLIMIT_NOFILE, or accept failed.");
  pauses.add({}, value(s.accept_pauses));
  auto requests = Family::counter("nodepack_http_requests_total", "Requests read.");
  requests.add({}, value(s.requests));
  auto bad = Family::counter("nodepack_http_bad_requests_total",
                             "Requests refused as malformed, over a size limit, or too slow to arrive.");
  bad.add({}, value(s.bad_requests));
  auto tls_streams =
      Family::counter("nodepack_http_tls_streams_created_total",
                      "TLS sessions set up: only for connections admitted that sent a byte (HTTPS ports only).");
  tls_streams.add({}, value(s.tls_streams_created));
  auto handshake_errors = Family::counter("nodepack_http_tls_handshake_errors_total",
                                          "TLS handshakes that failed or timed out, plain HTTP on an HTTPS port.");
  handshake_errors.add({}, value(s.tls_handshake_errors));
  auto connections =
      Family::gauge("nodepack_http_connections", "Connections held now: regular (idle included) and health slots.");
  connections.add({{"slot", "regular"}}, value(s.connections_active));
  connections.add({{"slot", "health"}}, value(s.health_connections_active));
  auto idle = Family::gauge("nodepack_http_idle_connections", "Regular connections waiting for their next request.");
  idle.add({}, value(s.connections_idle));
  auto sockets = Family::gauge("nodepack_http_sockets", "Sockets held now, of every kind (closing ones included).");
  sockets.add({}, value(s.sockets_open));

  std::vector<prometheus::MetricFamily> out;
  metrics::emit(out, accepted, refused, evictions, health, sockets_refused, pauses, requests, bad, tls_streams,
                handshake_errors, connections, idle, sockets);
  return out;
}

}  // namespace nodepack::http
