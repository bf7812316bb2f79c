#include "aggregator/web/pages.hpp"
#include "common/strings.hpp"

#include "aggregator/web/assets.hpp"
#include "aggregator/web/form.hpp"

namespace nodepack::web {
namespace {

// An asset's URL carries its content hash, so it can be cached for good and a new build is
// fetched at once.
std::string asset_url(std::string_view name) {
  std::string url = "/web/static/" + std::string(name);
  if (const Asset* asset = find_asset(name)) {
    url += "?v=" + std::string(asset->etag.substr(1, asset->etag.size() - 2));
  }
  return url;
}

std::string head(std::string_view title, std::initializer_list<std::string_view> scripts) {
  std::string out =
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>" +
      html_escape(title) + " \xc2\xb7 nodepack</title>" + "<link rel=\"stylesheet\" href=\"" +
      html_escape(asset_url("style.css")) + "\"><link rel=\"icon\" href=\"" + html_escape(asset_url("favicon.svg")) +
      "\" type=\"image/svg+xml\">";
  for (auto script : scripts) {
    out += "<script src=\"" + html_escape(asset_url(script)) + "\" defer></script>";
  }
  out += "</head>";
  return out;
}

std::string metric_link(const PageFrame& frame, const MetricInfo& metric) {
  std::string href = "/web/stats/" + metric.name;
  if (!frame.namespace_name.empty()) {
    href += "/" + url_encode_path(frame.namespace_name);
  }
  const bool active = frame.current == metric.name;
  return "<li><a href=\"" + html_escape(href) + "\"" + (active ? " class=\"active\" aria-current=\"page\"" : "") +
         " title=\"" + html_escape(metric.description) + "\">" + html_escape(metric.name) + "</a></li>";
}

// The top bar and the sidebar; the caller closes with frame_end().
std::string frame_start(const PageFrame& frame) {
  std::string out =
      "<header class=\"top\"><a class=\"brand\" href=\"/web\">nodepack</a>"
      "<span class=\"tagline\">usage and accounting</span><span class=\"spacer\"></span>";
  if (frame.user.empty()) {
    // An aggregator without users: nobody to log out.
    out += "<span class=\"user\" id=\"user\">no login required</span>";
  } else {
    out += "<span class=\"user\" id=\"user\">" + html_escape(frame.user) +
           "</span><form method=\"post\" action=\"/web/logout\" class=\"logout\">"
           "<button type=\"submit\" id=\"logout\">Log out</button></form>";
  }
  out += "</header><div class=\"layout\"><nav class=\"sidebar\" aria-label=\"Metrics\"><h2>Main metrics</h2><ul>";
  if (frame.metrics != nullptr) {
    for (const auto& m : *frame.metrics) {
      if (m.main) {
        out += metric_link(frame, m);
      }
    }
  }
  out += "</ul><h2>Billing</h2><ul><li><a href=\"/web/accounting\"";
  out += frame.current == "accounting" ? " class=\"active\" aria-current=\"page\"" : "";
  out += ">Accounting</a></li></ul><h2>Cluster</h2><ul><li><a href=\"/web/topology\"";
  out += frame.current == "topology" ? " class=\"active\" aria-current=\"page\"" : "";
  out += ">Topology</a></li></ul><h2>Other metrics</h2><ul class=\"other\">";
  if (frame.metrics != nullptr) {
    for (const auto& m : *frame.metrics) {
      if (!m.main) {
        out += metric_link(frame, m);
      }
    }
  }
  out += "</ul></nav><main>";
  return out;
}

constexpr std::string_view frame_end = "</main></div></body></html>\n";

// The controls both data pages share: quick ranges, a custom from/to, and a status line.
std::string range_controls(std::initializer_list<std::string_view> ranges, std::string_view default_range) {
  std::string out = "<div class=\"ranges\" role=\"group\" aria-label=\"Time range\">";
  for (auto r : ranges) {
    out += "<button type=\"button\" data-range=\"" + html_escape(r) + "\"" +
           (r == default_range ? " class=\"selected\"" : "") + ">Last " + html_escape(r) + "</button>";
  }
  out +=
      "</div><form class=\"custom-range\" id=\"custom-range\"><label>From <input type=\"datetime-local\" "
      "id=\"from\" step=\"60\" required></label><label>To <input type=\"datetime-local\" id=\"to\" step=\"60\" "
      "required></label><button type=\"submit\">Apply</button></form>";
  return out;
}

}  // namespace

std::string login_page(std::string_view error, std::string_view user, std::string_view next) {
  std::string out = head("Log in", {});
  out +=
      "<body class=\"login-page\"><main class=\"login\"><form method=\"post\" action=\"/web/login\" "
      "id=\"login\"><h1>nodepack</h1><p class=\"muted\">Log in to see usage and accounting.</p>";
  if (!error.empty()) {
    out += "<p class=\"error\" id=\"error\" role=\"alert\">" + html_escape(error) + "</p>";
  }
  out += "<label for=\"user\">User</label><input id=\"user\" name=\"user\" autocomplete=\"username\" required";
  out += user.empty() ? " autofocus" : "";
  out += " value=\"" + html_escape(user) + "\">";
  out +=
      "<label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" "
      "autocomplete=\"current-password\" required";
  out += user.empty() ? "" : " autofocus";
  out += ">";
  if (!next.empty()) {
    out += "<input type=\"hidden\" name=\"next\" value=\"" + html_escape(next) + "\">";
  }
  out += "<button type=\"submit\">Log in</button></form></main></body></html>\n";
  return out;
}

std::string stats_page(const PageFrame& frame, const MetricInfo& metric) {
  const std::string where = frame.namespace_name.empty() ? "all namespaces" : "namespace " + frame.namespace_name;
  std::string out = head(metric.name + " in " + where, {"common.js", "chart.js", "stats.js"});
  out += "<body data-page=\"stats\" data-metric=\"" + html_escape(metric.name) + "\" data-unit=\"" +
         html_escape(metric.unit) + "\" data-request-metric=\"" + html_escape(metric.request_metric) +
         "\" data-namespace=\"" + html_escape(frame.namespace_name) + "\" data-namespaces=\"" +
         html_escape(join(frame.namespaces, ",")) + "\">";
  out += frame_start(frame);
  out += "<h1>" + html_escape(metric.name) + " <span class=\"where\">" + html_escape(where) + "</span></h1>";
  out += "<p class=\"muted\">" + html_escape(metric.description);
  if (!metric.request_metric.empty()) {
    out += " Solid lines: usage; dashed lines: " + html_escape(metric.request_metric) + ".";
  }
  out += frame.namespace_name.empty() ? " One line per namespace." : " One line per pod.";
  out += "</p><div class=\"controls\">";
  out += range_controls({"1h", "6h", "24h", "7d", "30d"}, "1h");
  out +=
      "<label class=\"namespace\">Namespace <select id=\"namespace-select\"><option value=\"\">All "
      "namespaces</option>";
  if (!frame.namespace_name.empty()) {
    out += "<option value=\"" + html_escape(frame.namespace_name) + "\" selected>" + html_escape(frame.namespace_name) +
           "</option>";
  }
  out +=
      "</select></label></div><p class=\"error\" id=\"error\" role=\"alert\" hidden></p>"
      "<p class=\"status\" id=\"status\">Loading\xe2\x80\xa6</p>"
      "<section class=\"card\"><div id=\"chart\" class=\"chart\"></div><div id=\"legend\" "
      "class=\"legend\"></div></section><section class=\"card\"><h2 id=\"summary-title\">Summary</h2>"
      "<table id=\"summary\" class=\"data\"></table></section>";
  out += frame_end;
  return out;
}

std::string accounting_page(const PageFrame& frame) {
  std::string out = head("Accounting", {"common.js", "accounting.js"});
  out += "<body data-page=\"accounting\" data-namespaces=\"" + html_escape(join(frame.namespaces, ",")) + "\">";
  out += frame_start(frame);
  out +=
      "<h1>Accounting</h1><p class=\"muted\">What each namespace or pod used and reserved over the range: "
      "CPU in core-hours, memory in GiB-hours, GPUs in GPU-hours. <em>Billable</em> counts, for each container "
      "and each step of the range, the larger of used and requested.</p><div class=\"controls\">";
  out += range_controls({"24h", "7d", "30d"}, "24h");
  out +=
      "<label>By <select id=\"by\"><option value=\"namespace\">namespace</option><option value=\"pod\">pod"
      "</option></select></label><label class=\"namespace\">Namespace <select id=\"namespace-select\">"
      "<option value=\"\">All namespaces</option></select></label>"
      "<a class=\"button\" id=\"download-csv\" href=\"/api/v1/accounting?format=csv\" download>Download CSV</a>"
      "</div><p class=\"error\" id=\"error\" role=\"alert\" hidden></p><p class=\"status\" id=\"status\">"
      "Loading\xe2\x80\xa6</p><section class=\"card\"><table id=\"accounting\" class=\"data\"></table></section>";
  out += frame_end;
  return out;
}

std::string topology_page(const PageFrame& frame) {
  std::string out = head("Topology", {"common.js", "topology.js"});
  out += "<body data-page=\"topology\" data-namespaces=\"" + html_escape(join(frame.namespaces, ",")) + "\">";
  out += frame_start(frame);
  out +=
      "<h1>Topology</h1><p class=\"muted\">Who connects to whom: workloads, Services and external address "
      "ranges, from the agents' connection counters. Callers are on the left; an arrow's width follows its "
      "connections per second, red arrows have failing connections. Hover an arrow for its rates and totals."
      "</p><div class=\"controls\"><label class=\"namespace\">Namespace <select id=\"namespace-select\">"
      "<option value=\"\">All namespaces</option></select></label></div>"
      "<p class=\"error\" id=\"error\" role=\"alert\" hidden></p><p class=\"status\" id=\"status\">"
      "Loading\xe2\x80\xa6</p><section class=\"card\"><div id=\"topology\" class=\"topology\"></div></section>"
      "<section class=\"card\"><h2>Connections</h2><table id=\"edges\" class=\"data\"></table></section>";
  out += frame_end;
  return out;
}

std::string logout_page(const PageFrame& frame) {
  std::string out = head("Log out", {});
  out += "<body>";
  out += frame_start(frame);
  out +=
      "<h1>Log out</h1><form method=\"post\" action=\"/web/logout\"><p>End the session of this browser?</p>"
      "<button type=\"submit\">Log out</button></form>";
  out += frame_end;
  return out;
}

std::string message_page(const PageFrame* frame, std::string_view title, std::string_view message) {
  std::string out = head(title, {});
  if (frame == nullptr) {
    out += "<body class=\"login-page\"><main class=\"login\"><div class=\"message\"><h1>" + html_escape(title) +
           "</h1><p class=\"error\" role=\"alert\">" + html_escape(message) +
           "</p><p><a href=\"/web/login\">Log in</a></p></div></main></body></html>\n";
    return out;
  }
  out += "<body>";
  out += frame_start(*frame);
  out += "<h1>" + html_escape(title) + "</h1><p class=\"error\" role=\"alert\">" + html_escape(message) + "</p>";
  out += frame_end;
  return out;
}

}  // namespace nodepack::web
