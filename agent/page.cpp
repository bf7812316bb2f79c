#include "agent/page.hpp"

#include "http/server.hpp"

namespace nodepack::agent {
namespace {

constexpr const char* style = R"css(
:root { --ds:#8e6bbf; --req:#3b82c4; --free:#e4e9ef; --excl:#d9822b; --shared:#7fb77e; --reserved:#8a95a1;
        --offline:#3a4450; --bad:#d6453d; }
* { box-sizing: border-box; }
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1d2733; background: #f6f8fa; }
header { background: #1d2733; color: #fff; padding: 12px 24px; display: flex; gap: 24px; align-items: baseline; flex-wrap: wrap; }
header h1 { font-size: 18px; margin: 0; } header .meta { color: #b8c4d0; font-size: 12px; }
main { padding: 16px 24px; display: grid; gap: 16px; }
section { background: #fff; border: 1px solid #dde3ea; border-radius: 6px; padding: 12px 16px; }
h2 { font-size: 15px; margin: 0 0 10px; } h3 { font-size: 13px; margin: 8px 0 6px; }
.resources { display: flex; gap: 16px; flex-wrap: wrap; }
.resource { flex: 1 1 240px; border: 1px solid #e3e8ee; border-radius: 6px; padding: 10px 12px; }
.resource .pct { font-size: 24px; font-weight: 600; }
.meter { display: flex; height: 12px; border-radius: 3px; overflow: hidden; background: var(--free); margin: 4px 0; }
.meter span { height: 100%; } .meter .ds { background: var(--ds); } .meter .req { background: var(--req); }
.key { font-size: 12px; color: #5b6775; display: flex; gap: 14px; flex-wrap: wrap; margin-top: 6px; }
.key i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #eef1f4; }
th { font-size: 12px; color: #5b6775; font-weight: 600; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
td.why { color: #5b6775; font-size: 12px; }
.no { color: var(--bad); font-weight: 600; } .yes { color: #2f7d4a; }
.zones { display: flex; gap: 16px; flex-wrap: wrap; }
.zone { border: 1px solid #e3e8ee; border-radius: 6px; padding: 8px 10px; min-width: 200px; }
.cpus { display: grid; grid-template-columns: repeat(8, 30px); gap: 3px; }
.cpu { height: 24px; border-radius: 3px; font-size: 11px; color: #fff; display: flex; align-items: center; justify-content: center; }
.cpu.exclusive { background: var(--excl); } .cpu.shared { background: var(--shared); }
.cpu.reserved { background: var(--reserved); } .cpu.offline { background: var(--offline); }
.tops { display: flex; gap: 16px; flex-wrap: wrap; } .tops > div { flex: 1 1 300px; }
.muted { color: #8a95a1; } #error { color: var(--bad); }
form#login { display: none; gap: 8px; align-items: center; flex-wrap: wrap; }
form#login input { flex: 1 1 400px; padding: 4px 8px; border: 1px solid #cfd7df; border-radius: 4px; font-family: monospace; }
)css";

constexpr const char* body = R"html(
<header><h1>nodepack agent · <span id="node">…</span></h1>
<span class="meta" id="meta"></span><span class="meta" id="updated"></span><span class="meta" id="error"></span></header>
<main>
<section><form id="login"><b>This agent wants a bearer token.</b>
<span class="muted">One allowed to get /metrics, /report and /debug/* (ClusterRole nodepack-agent-viewer):
<code>kubectl -n NAMESPACE create token SERVICEACCOUNT</code>. Kept in this tab only.</span>
<input id="token" type="password" autocomplete="off" placeholder="token"><button>Use</button></form>
<h2>Requests against allocatable</h2><div class="resources" id="resources"></div>
<div class="key"><span><i style="background:var(--ds)"></i>DaemonSet pods</span>
<span><i style="background:var(--req)"></i>other pods</span><span><i style="background:var(--free)"></i>free</span></div></section>
<section><h2>Pods on this node <span class="muted" id="pod-summary"></span></h2>
<table><thead><tr><th>namespace</th><th>pod</th><th>phase</th><th>counts</th><th>cpu</th><th>memory</th><th>why</th></tr></thead>
<tbody id="pods"></tbody></table></section>
<section><h2>NUMA nodes and CPUs <span class="muted" id="numa-summary"></span></h2><div class="zones" id="zones"></div>
<div class="key"><span><i style="background:var(--excl)"></i>exclusive to a container</span>
<span><i style="background:var(--shared)"></i>shared pool</span><span><i style="background:var(--reserved)"></i>reserved</span>
<span><i style="background:var(--offline)"></i>offline</span></div></section>
<section><h2>Kernel view per pod <span class="muted" id="kernel-summary"></span></h2><div class="tops" id="tops"></div></section>
<section><h2>Configuration</h2><table id="config"></table><h3>Endpoints</h3><ul id="endpoints">ENDPOINTS</ul></section>
</main>
)html";

constexpr const char* script = R"js(
const REFRESH_MS = 5000;
let token = sessionStorage.getItem('nodepack-agent-token') || '';
let previous = null;  // the last kernel totals, for rates between two refreshes

function esc(s) {
  return String(s).replace(/[&<>"]/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c]));
}
// A Kubernetes quantity ("250m", "1Gi", "1e3") as a number.
function quantity(s) {
  if (s === undefined || s === null) return 0;
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(String(s));
  if (!m) return NaN;
  const scale = {m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30,
                 Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60}[m[2]] || 1;
  return parseFloat(m[1]) * scale;
}
function show(resource, v) {
  if (resource === 'cpu') return v.toFixed(2) + ' cores';
  if (resource === 'memory' || resource.startsWith('hugepages-') || resource === 'ephemeral-storage')
    return (v / 2 ** 30).toFixed(2) + ' GiB';
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}
// "0-3,8" as [0, 1, 2, 3, 8].
function cpuset(text) {
  const out = [];
  for (const part of String(text || '').split(',')) {
    if (!part) continue;
    const [a, b] = part.split('-').map(Number);
    for (let c = a; c <= (b === undefined ? a : b); ++c) out.push(c);
  }
  return out;
}
class AuthNeeded extends Error {}
async function get(path, text) {
  const r = await fetch(path, {cache: 'no-store', headers: token ? {Authorization: 'Bearer ' + token} : {}});
  if (r.status === 401 || r.status === 403) throw new AuthNeeded(path + ': ' + r.status);
  if (r.status === 404) return null;  // a source this agent runs without
  if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
  return text ? r.text() : r.json();
}

function drawResources(report) {
  const order = ['cpu', 'memory', 'pods'];
  // Resources the node has none of (hugepages on most nodes) would only show "n/a".
  const names = Object.keys(report.allocatable || {}).filter(r =>
      quantity(report.allocatable[r]) > 0 || quantity((report.allocated || {})[r]) > 0).sort((a, b) =>
      (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b));
  document.getElementById('resources').innerHTML = names.map(r => {
    const cap = quantity(report.allocatable[r]);
    const all = quantity((report.allocated || {})[r]), ds = quantity((report.daemonset_allocated || {})[r]);
    const share = x => cap > 0 ? Math.min(100, 100 * x / cap) : 0;
    const pct = cap > 0 ? (100 * all / cap).toFixed(1) + '%' : 'n/a';
    return `<div class="resource" data-resource="${esc(r)}"><div>${esc(r)}</div><div class="pct">${pct}</div>` +
        `<div class="meter"><span class="ds" style="width:${share(ds)}%"></span>` +
        `<span class="req" style="width:${Math.max(0, share(all) - share(ds))}%"></span></div>` +
        `<div class="muted">${show(r, all)} of ${show(r, cap)} requested, ${show(r, ds)} by DaemonSets</div></div>`;
  }).join('') || '<span class="muted">the Node object is not known yet</span>';
}

function drawPods(debug) {
  const pods = (debug.pods || []).slice().sort((a, b) =>
      (b.counted - a.counted) || quantity(b.requests.cpu) - quantity(a.requests.cpu) ||
      (a.namespace + a.name).localeCompare(b.namespace + b.name));
  document.getElementById('pod-summary').textContent =
      `${debug.pod_count} counted of ${pods.length}; requests per ${debug.resize_semantics} rule`;
  document.getElementById('pods').innerHTML = pods.map(p =>
      `<tr data-pod="${esc(p.namespace + '/' + p.name)}"><td>${esc(p.namespace)}</td><td>${esc(p.name)}` +
      `${p.daemonset ? ' <span class="muted">(DaemonSet)</span>' : ''}</td><td>${esc(p.phase)}</td>` +
      `<td class="${p.counted ? 'yes' : 'no'}">${p.counted ? 'yes' : 'no'}</td>` +
      `<td class="n">${p.requests.cpu ? show('cpu', quantity(p.requests.cpu)) : '–'}</td>` +
      `<td class="n">${p.requests.memory ? show('memory', quantity(p.requests.memory)) : '–'}</td>` +
      `<td class="why">${esc((p.reasons || []).join('; '))}</td></tr>`).join('');
}

function drawNuma(numa) {
  const zones = document.getElementById('zones');
  if (!numa) {
    document.getElementById('numa-summary').textContent = '';
    zones.innerHTML = '<span class="muted">NUMA collection is disabled on this agent</span>';
    return;
  }
  const owner = {};
  for (const c of numa.containers || []) {
    const who = c.pod && c.pod.name ? `${c.pod.namespace}/${c.pod.name}/${c.container}` : `${c.pod_uid}/${c.container}`;
    for (const cpu of cpuset(c.cpus)) owner[cpu] = who;
  }
  const offline = {};
  for (const n of (numa.topology && numa.topology.nodes) || []) offline[n.id] = cpuset(n.offline_cpus);
  let exclusive = 0;
  zones.innerHTML = (numa.numa_nodes || []).map(n => {
    const excl = new Set(cpuset(n.exclusive_cpus)), reserved = new Set(cpuset(n.reserved_cpus));
    const cells = cpuset(n.capacity_cpus).map(c => {
      const kind = excl.has(c) ? 'exclusive' : reserved.has(c) ? 'reserved' : 'shared';
      exclusive += kind === 'exclusive';
      const title = kind === 'exclusive' ? (owner[c] || 'exclusive') : kind;
      return `<div class="cpu ${kind}" data-cpu="${c}" title="CPU ${c}: ${esc(title)}">${c}</div>`;
    }).concat((offline[n.id] || []).map(c =>
      `<div class="cpu offline" data-cpu="${c}" title="CPU ${c}: offline">${c}</div>`));
    const memory = n.memory && n.memory.capacity !== undefined ? ` · ${show('memory', Number(n.memory.capacity))}` : '';
    return `<div class="zone" data-numanode="${n.id}"><h3>${esc(n.name)} · ${cpuset(n.capacity_cpus).length} CPUs${memory}</h3>` +
        `<div class="cpus">${cells.join('') || '<span class="muted">no CPUs (memory only)</span>'}</div></div>`;
  }).join('');
  document.getElementById('numa-summary').textContent =
      `CPU manager policy ${numa.cpu_policy || 'unknown'}; ${exclusive} CPUs exclusive to containers`;
}

// kpod_* samples of /metrics summed per pod: {pod: value}.
function perPod(text, names) {
  const out = {};
  const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\} (\S+)/;
  for (const l of text.split('\n')) {
    const m = line.exec(l);
    if (!m || !names.includes(m[1])) continue;
    const labels = {};
    for (const kv of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[kv[1]] = kv[2];
    if (!labels.pod) continue;
    const key = (labels.namespace || '') + '/' + labels.pod;
    out[key] = (out[key] || 0) + Number(m[3]);
  }
  return out;
}

function drawKernel(text) {
  const now = Date.now();
  const totals = {
    cpu: perPod(text, ['kpod_cpu_usage_seconds_total']),
    rqSum: perPod(text, ['kpod_cpu_runqueue_latency_seconds_sum']),
    rqCount: perPod(text, ['kpod_cpu_runqueue_latency_seconds_count']),
    retrans: perPod(text, ['kpod_net_tcp_retransmits_total']),
  };
  const pods = new Set(Object.keys(totals.cpu).concat(Object.keys(totals.rqCount), Object.keys(totals.retrans)));
  const since = previous ? (now - previous.at) / 1000 : 0;
  const delta = (table, pod) => (totals[table][pod] || 0) - (previous ? (previous[table][pod] || 0) : 0);
  // Over the last refresh when there is one, else since the agent started counting.
  const rows = [...pods].map(pod => {
    const waits = delta('rqCount', pod);
    return {pod, cpu: since > 0 ? delta('cpu', pod) / since : totals.cpu[pod] || 0,
            rq: waits > 0 ? delta('rqSum', pod) / waits : null,
            retrans: since > 0 ? delta('retrans', pod) / since : totals.retrans[pod] || 0};
  });
  previous = Object.assign({at: now}, totals);
  const span = since > 0 ? `over the last ${since.toFixed(0)} s` : 'since the agent started';
  document.getElementById('kernel-summary').textContent = pods.size ? `${pods.size} pods, ${span}` : '';
  if (!pods.size) {
    document.getElementById('tops').innerHTML =
        '<span class="muted">no per-pod kernel series yet (they need the pods\' cgroups on this node, and BPF for ' +
        'run-queue latency and TCP)</span>';
    return;
  }
  const top = (title, id, key, fmt) => {
    const ranked = rows.filter(r => r[key] !== null).sort((a, b) => b[key] - a[key]).slice(0, 10);
    return `<div><h3>${title}</h3><table id="${id}"><tbody>` + ranked.map(r =>
        `<tr data-pod="${esc(r.pod)}"><td>${esc(r.pod)}</td><td class="n">${fmt(r[key])}</td></tr>`).join('') +
        '</tbody></table></div>';
  };
  document.getElementById('tops').innerHTML =
      top('Run-queue latency (mean wait)', 'top-runqueue', 'rq', v => (v * 1e6).toFixed(0) + ' µs') +
      top(since > 0 ? 'CPU (cores)' : 'CPU (seconds used)', 'top-cpu', 'cpu', v => v.toFixed(3)) +
      top(since > 0 ? 'TCP retransmits (per second)' : 'TCP retransmits', 'top-retransmits', 'retrans',
          v => v.toFixed(since > 0 ? 2 : 0));
}

function drawConfig(config) {
  document.getElementById('node').textContent = config.node;
  document.getElementById('meta').textContent = `version ${config.version} (${config.revision})`;
  document.getElementById('config').innerHTML = Object.entries(config.settings).map(([k, v]) =>
      `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('');
}

async function refresh() {
  const error = document.getElementById('error');
  try {
    const [config, report, pods, numa, metrics] = await Promise.all([
      get('/debug/config'), get('/report'), get('/debug/pods'), get('/debug/numa'), get(METRICS_PATH, true)]);
    document.getElementById('login').style.display = 'none';
    drawConfig(config);
    drawResources(report);
    drawPods(pods);
    drawNuma(numa);
    drawKernel(metrics || '');
    error.textContent = report.synced ? '' : 'not synced with the API server yet';
    document.getElementById('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  } catch (e) {
    if (e instanceof AuthNeeded) document.getElementById('login').style.display = 'flex';
    error.textContent = 'refresh failed: ' + e.message;
  }
}
document.getElementById('login').addEventListener('submit', ev => {
  ev.preventDefault();
  token = document.getElementById('token').value.trim();
  sessionStorage.setItem('nodepack-agent-token', token);
  refresh();
});
refresh();
setInterval(refresh, REFRESH_MS);
)js";

}  // namespace

std::string agent_page_html(const std::string& metrics_path) {
  std::string endpoints;
  for (const auto* path : {"METRICS", "/healthz", "/readyz", "/sync", "/report", "/debug/pods", "/debug/numa",
                           "/debug/accounting", "/debug/kernel", "/debug/topology", "/debug/nrt", "/debug/config"}) {
    const std::string p = std::string(path) == "METRICS" ? metrics_path : path;
    endpoints += "<li><a href=\"" + http::html_escape(p) + "\">" + http::html_escape(p) + "</a></li>";
  }
  std::string html = body;
  html.replace(html.find("ENDPOINTS"), 9, endpoints);
  // The metrics path is a flag: written into the script as a JSON string literal.
  std::string quoted = "\"";
  for (char c : metrics_path) {
    if (c == '"' || c == '\\' || c == '<') {
      quoted += "\\u00" + std::string(c == '"' ? "22" : c == '\\' ? "5c" : "3c");
    } else {
      quoted += c;
    }
  }
  quoted += "\"";
  return "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>nodepack agent</title>"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>" +
         std::string(style) + "</style></head><body>" + html + "<script>const METRICS_PATH = " + quoted + ";" + script +
         "</script></body></html>\n";
}

}  // namespace nodepack::agent
