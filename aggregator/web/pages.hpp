#pragma once

// The HTML frames of the web pages. Every value that comes from a request, a user or a metric
// table goes through html_escape; the data itself is drawn by the page's script.

#include "aggregator/web/web.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace nodepack::web {

using http::html_escape;

// What every page behind the login shows: who is logged in, the sidebar, where it is.
struct PageFrame {
  std::string user;
  const std::vector<MetricInfo>* metrics = nullptr;
  std::string current;                  // the sidebar entry to highlight: a metric name, "accounting", "topology"
  std::string namespace_name;           // the namespace the sidebar's metric links keep ("" for all)
  std::vector<std::string> namespaces;  // the namespaces the user may see; empty: all
};

std::string login_page(std::string_view error, std::string_view user, std::string_view next);
std::string stats_page(const PageFrame& frame, const MetricInfo& metric);
std::string accounting_page(const PageFrame& frame);
// The cluster's connection graph (topology.js draws GET /api/topology).
std::string topology_page(const PageFrame& frame);
std::string logout_page(const PageFrame& frame);
// A page that only says something (not found, refused); with the sidebar when `frame` is given.
std::string message_page(const PageFrame* frame, std::string_view title, std::string_view message);

}  // namespace nodepack::web
