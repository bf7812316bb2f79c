#pragma once

// The HTTP server's own metrics (nodepack_http_*): how many connections it admitted, refused and
// evicted, and what it holds now, so an operator can tell a flood or a slow client from a slow
// scrape. Read at scrape time from the server's counters.

#include "http/server.hpp"

#include <prometheus/collectable.h>

namespace nodepack::http {

class ServerCollector final : public prometheus::Collectable {
 public:
  explicit ServerCollector(const Server& server) : server_(server) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const Server& server_;
};

}  // namespace nodepack::http
