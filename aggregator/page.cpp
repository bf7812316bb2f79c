#include "aggregator/page.hpp"

#include "common/duration.hpp"
#include "http/server.hpp"
#include "metrics/build_info.hpp"

namespace nodepack::aggregator {
namespace {

using http::html_escape;

constexpr const char* style = R"css(
:root { --ds:#8e6bbf; --used:#3b82c4; --free:#e4e9ef; --fresh:#2f9e55; --stale:#d9a21b; --missing:#9aa3ad; --invalid:#d6453d; }
* { box-sizing: border-box; }
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1d2733; background: #f6f8fa; }
header { background: #1d2733; color: #fff; padding: 12px 24px; display: flex; gap: 24px; align-items: baseline; flex-wrap: wrap; }
header h1 { font-size: 18px; margin: 0; }
header .meta { color: #b8c4d0; font-size: 12px; }
main { padding: 16px 24px; }
section { background: #fff; border: 1px solid #dde3ea; border-radius: 6px; padding: 12px 16px; margin-bottom: 16px; }
h2 { font-size: 15px; margin: 0 0 10px; }
.cards { display: flex; gap: 16px; flex-wrap: wrap; }
.card { flex: 1 1 220px; border: 1px solid #e3e8ee; border-radius: 6px; padding: 10px 12px; }
.card .big { font-size: 26px; font-weight: 600; }
.bar { display: flex; height: 12px; border-radius: 3px; overflow: hidden; background: var(--free); min-width: 120px; }
.bar span { display: block; height: 100%; }
.bar .ds { background: var(--ds); } .bar .used { background: var(--used); }
.legend { font-size: 12px; color: #5b6775; display: flex; gap: 14px; margin-top: 6px; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eef1f4; white-space: nowrap; }
th { font-size: 12px; color: #5b6775; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.barcell { width: 30%; min-width: 160px; }
.badge { display: inline-block; padding: 0 6px; border-radius: 8px; color: #fff; font-size: 11px; }
.badge.fresh { background: var(--fresh); } .badge.stale { background: var(--stale); }
.badge.missing { background: var(--missing); } .badge.invalid { background: var(--invalid); }
.chips { display: flex; gap: 8px; }
.muted { color: #8a95a1; }
#error { color: var(--invalid); }
input[type=search] { padding: 4px 8px; border: 1px solid #cfd7df; border-radius: 4px; width: 260px; }
)css";

constexpr const char* script = R"js(
const fmt = {
  cpu: v => v.toFixed(2) + ' cores',
  memory: v => (v / 1073741824).toFixed(1) + ' GiB',
  pods: v => String(Math.round(v)),
};
function show(resource, v) {
  if (fmt[resource]) return fmt[resource](v);
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}
function pct(r) { return (r * 100).toFixed(1) + '%'; }
function esc(s) {
  return String(s).replace(/[&<>"]/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c]));
}
function bar(x) {
  const cap = x.allocatable > 0 ? x.allocatable : 1;
  const ds = Math.min(x.daemonset / cap, 1);
  const used = Math.max(Math.min(x.allocated / cap, 1) - ds, 0);
  const title = 'allocated ' + x.allocated + ' of ' + x.allocatable + ' (DaemonSet ' + x.daemonset + ')';
  return '<div class="bar" title="' + esc(title) + '"><span class="ds" style="width:' + (ds * 100) +
         '%"></span><span class="used" style="width:' + (used * 100) + '%"></span></div>';
}
function badge(state) { return '<span class="badge ' + esc(state) + '">' + esc(state) + '</span>'; }
let last = null;
function render(s) {
  last = s;
  document.getElementById('built').textContent = 'snapshot ' + s.sequence + ' built ' + s.built_at;
  const chips = ['fresh', 'stale', 'missing', 'invalid'].map(k => badge(k) + ' ' + s.freshness[k]).join(' ');
  document.getElementById('freshness').innerHTML = chips;
  let cards = '';
  for (const r of s.resources) {
    const x = s.cluster.resources[r];
    cards += '<div class="card"><div class="muted">' + esc(r) + '</div><div class="big" id="cluster-' + esc(r) +
             '">' + pct(x.utilization) + '</div>' + bar(x) + '<div class="muted">' + show(r, x.allocated) +
             ' of ' + show(r, x.allocatable) + ' &middot; DaemonSets ' + show(r, x.daemonset) + '</div></div>';
  }
  cards += '<div class="card"><div class="muted">nodes</div><div class="big">' + s.cluster.node_count +
           '</div><div class="muted">' + s.cluster.reporting_nodes + ' with a usable report</div></div>';
  if (s.pending.enabled) {
    cards += '<div class="card"><div class="muted">pending pods</div><div class="big">' + s.pending.pods +
             '</div><div class="muted">' + s.resources.map(r => esc(r) + ' ' + show(r, s.pending.requested[r])).join(', ') +
             '</div></div>';
  }
  for (const shape of s.shapes) {
    cards += '<div class="card"><div class="muted">fits of shape ' + esc(shape) + '</div><div class="big">' +
             s.cluster.fit[shape] + '</div></div>';
  }
  document.getElementById('cluster').innerHTML = cards;
  let groups = '';
  for (const g of s.groups) {
    groups += '<h2>' + esc(g.label_group) + '</h2><table><tr><th>value</th><th>nodes</th>';
    for (const r of s.resources) groups += '<th>' + esc(r) + '</th><th></th>';
    groups += '</tr>';
    for (const v of g.values) {
      groups += '<tr><td>' + esc(v.value) + '</td><td class="num">' + v.node_count + '</td>';
      for (const r of s.resources) {
        groups += '<td class="barcell">' + bar(v.resources[r]) + '</td><td class="num">' + pct(v.resources[r].utilization) + '</td>';
      }
      groups += '</tr>';
    }
    groups += '</table>';
  }
  document.getElementById('groups').innerHTML = groups || '<span class="muted">no --label-group configured</span>';
  renderNodes();
}
function renderNodes() {
  const s = last;
  if (!s) return;
  const filter = document.getElementById('filter').value.trim().toLowerCase();
  let rows = '<table><tr><th>node</th><th>report</th>';
  for (const r of s.resources) rows += '<th>' + esc(r) + '</th><th></th>';
  rows += '</tr>';
  for (const n of s.nodes) {
    if (filter && !n.name.toLowerCase().includes(filter) && !n.state.includes(filter)) continue;
    const age = n.report_age_seconds === null ? '' : ' ' + Math.round(n.report_age_seconds) + 's';
    rows += '<tr class="node" data-node="' + esc(n.name) + '"><td>' + esc(n.name) + '</td><td title="' + esc(n.reason) +
            '">' + badge(n.state) + '<span class="muted">' + age + '</span></td>';
    for (const r of s.resources) {
      const x = n.resources[r];
      rows += n.usable ? '<td class="barcell">' + bar(x) + '</td><td class="num">' + pct(x.utilization) + '</td>'
                       : '<td class="barcell muted">no usable report</td><td></td>';
    }
    rows += '</tr>';
  }
  document.getElementById('nodes').innerHTML = rows + '</table>';
}
async function load() {
  try {
    const response = await fetch('api/snapshot', {cache: 'no-store'});
    if (!response.ok) throw new Error('HTTP ' + response.status + ': ' + (await response.text()));
    render(await response.json());
    document.getElementById('error').textContent = '';
  } catch (e) {
    document.getElementById('error').textContent = 'refresh failed: ' + e.message;
  }
}
document.getElementById('filter').addEventListener('input', renderNodes);
load();
setInterval(load, REFRESH_MS);
)js";

}  // namespace

std::string index_page_html(const AggregatorOptions& options) {
  std::string resources;
  for (const auto& r : options.resources) {
    resources += (resources.empty() ? "" : ",") + r;
  }
  std::string body =
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>nodepack aggregator</title><style>";
  body += style;
  body += "</style></head><body><header><h1>nodepack</h1><span class=\"meta\">aggregator " +
          html_escape(metrics::nodepack_version()) + " (" + html_escape(metrics::nodepack_revision()) +
          ") &middot; resources " + html_escape(resources) + " &middot; pull every " +
          html_escape(format_go_duration(options.pull_interval)) + ", stale after " +
          html_escape(format_go_duration(options.stale_after)) +
          "</span><span class=\"meta\" id=\"built\">loading&hellip;</span>"
          "<span class=\"chips\" id=\"freshness\"></span><span id=\"error\"></span></header><main>"
          "<section><h2>Cluster</h2><div class=\"cards\" id=\"cluster\"></div>"
          "<div class=\"legend\"><span><i style=\"background:var(--ds)\"></i>DaemonSet overhead</span>"
          "<span><i style=\"background:var(--used)\"></i>other allocated</span>"
          "<span><i style=\"background:var(--free)\"></i>free</span></div></section>"
          "<section id=\"groups\"></section>"
          "<section><h2>Nodes <input type=\"search\" id=\"filter\" placeholder=\"filter by name or state\"></h2>"
          "<div id=\"nodes\"></div></section>"
          "<section class=\"muted\">";
  for (const auto& path : {options.metrics_path, std::string("/api/snapshot"), std::string("/sync"),
                           std::string("/healthz"), std::string("/readyz")}) {
    body += "<a href=\"" + html_escape(path.substr(1)) + "\">" + html_escape(path) + "</a> ";
  }
  body += "</section></main><script>";
  std::string js = script;
  const std::string marker = "REFRESH_MS";
  const auto refresh_ms = std::clamp<std::int64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(options.pull_interval).count(), 1000, 60'000);
  js.replace(js.find(marker), marker.size(), std::to_string(refresh_ms));
  body += js;
  body += "</script></body></html>\n";
  return body;
}

}  // namespace nodepack::aggregator
