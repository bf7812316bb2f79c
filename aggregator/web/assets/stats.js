// The chart page, /web/stats/<metric>[/<namespace>]: usage against requests over the chosen
// range, one line per pod of a namespace or one per namespace, and a summary table.
'use strict';

(function () {
  const page = document.body.dataset;
  const metric = page.metric;
  const requestMetric = page.requestMetric;
  const namespace = page.namespace;
  const allowed = NP.allowedNamespaces();
  const POINTS = 300;          // points per line
  const MAX_NAMESPACES = 10;   // lines in the all-namespaces chart (the largest; the table has all)
  const REFRESH_MS = 30000;    // a "last ..." range follows the clock
  const range = new NP.Range('1h');
  const chart = document.getElementById('chart');
  let generation = 0;
  let timer = null;

  const AGGREGATES = {mean_rate: 'Mean', increase: 'Increase', time_average: 'Average'};

  function body(extra, from, to) {
    return Object.assign({timeBeginInterval: NP.iso(from), timeEndInterval: NP.iso(to)}, extra);
  }

  // The series of one answer summed by key (pod, namespace or node) at each point in time. A point
  // missing from every member stays missing (a gap), not zero.
  function sumBy(answer, keyOf) {
    const groups = new Map();
    for (const s of answer.series || []) {
      const key = keyOf(s);
      if (!groups.has(key)) groups.set(key, new Map());
      const sums = groups.get(key);
      for (const [t, v] of s.points) {
        if (v === null) continue;
        sums.set(t, (sums.get(t) || 0) + v);
      }
    }
    const out = new Map();
    for (const [key, sums] of groups) out.set(key, [...sums.entries()].sort((a, b) => a[0] - b[0]));
    return out;
  }

  const keyOfSeries = s => s.node !== undefined ? s.node : namespace ? s.pod : s.namespace;
  const keyOfTotal = t => t.node !== undefined ? t.node : t.pod !== undefined ? t.pod : t.namespace;

  async function fetchAll(from, to) {
    const isTotals = agg => ({agg, namespace: namespace || undefined, limit: POINTS});
    // The namespaces with data (for the selector and the all-namespaces lines).
    const totals = await NP.post('/api/' + metric, body(isTotals(namespace ? 'pod-by-namespace' : 'all-namespace'), from, to));
    const requestTotals = requestMetric
      ? await NP.post('/api/' + requestMetric, body(isTotals(namespace ? 'pod-by-namespace' : 'all-namespace'), from, to))
      : null;
    const nodeLevel = (totals.totals || []).some(t => t.node !== undefined);
    // Namespaces with usage or with requests: a namespace that requested and used nothing (or
    // whose usage is not collected) still has its request line.
    const byValue = list => [...(list || [])].sort((a, b) => (b.value || 0) - (a.value || 0)).map(t => t.namespace);
    const withData = [...new Set([...byValue(totals.totals), ...byValue(requestTotals && requestTotals.totals)])];
    let namespaces = [];
    if (!namespace && !nodeLevel) {
      namespaces = withData;
    } else if (!nodeLevel) {
      const all = await NP.post('/api/' + metric, body({agg: 'all-namespace'}, from, to));
      namespaces = (all.totals || []).map(t => t.namespace);
      if (requestMetric) {
        const allRequests = await NP.post('/api/' + requestMetric, body({agg: 'all-namespace'}, from, to));
        namespaces = namespaces.concat((allRequests.totals || []).map(t => t.namespace));
      }
    }
    // The lines: one query for a namespace (or for node-level metrics), one per namespace otherwise.
    const lineNamespaces = namespace || nodeLevel ? [namespace || 'default'] : withData.slice(0, MAX_NAMESPACES);
    const seriesOf = m => Promise.all(lineNamespaces.map(ns => NP.post('/api/' + m, body({namespace: ns, limit: POINTS}, from, to))));
    const [usageAnswers, requestAnswers] = await Promise.all(
      [seriesOf(metric), requestMetric && !nodeLevel ? seriesOf(requestMetric) : Promise.resolve([])]);
    return {totals, requestTotals, namespaces, usageAnswers, requestAnswers};
  }

  function merge(answers) {
    const out = new Map();
    for (const a of answers) for (const [k, v] of sumBy(a, keyOfSeries)) out.set(k, v);
    return out;
  }

  function render(data, from, to) {
    const unit = data.totals.unit || page.unit;
    const usage = merge(data.usageAnswers);
    const request = merge(data.requestAnswers);
    const requestTotals = new Map();
    for (const t of (data.requestTotals && data.requestTotals.totals) || []) requestTotals.set(keyOfTotal(t), t.value);
    const groups = [...new Set([...usage.keys(), ...request.keys()])].sort();
    const colored = groups.map((group, i) => ({group, color: NP.COLORS[i % NP.COLORS.length], usage: usage.has(group),
                                               request: request.has(group)}));
    const series = [];
    for (const g of colored) {
      if (usage.has(g.group)) series.push({group: g.group, kind: 'usage', color: g.color, points: usage.get(g.group)});
      if (request.has(g.group)) series.push({group: g.group, kind: 'request', color: g.color, points: request.get(g.group)});
    }
    const step = (data.usageAnswers[0] && data.usageAnswers[0].step) || 60;
    NP.lineChart(chart, {series, unit, from, to, step, label: metric});
    NP.legend(document.getElementById('legend'), colored);

    // The table: every group of the totals, with its request and its peak on the chart.
    const aggregate = AGGREGATES[data.totals.aggregate] || 'Value';
    const what = data.totals.totals && data.totals.totals.some(t => t.node !== undefined) ? 'Node'
      : namespace ? 'Pod' : 'Namespace';
    document.getElementById('summary-title').textContent = aggregate + ' over ' + range.describe() +
      (namespace ? ', per pod of ' + namespace : what === 'Node' ? ', per node' : ', per namespace') +
      (data.totals.aggregate === 'time_average' ? ' (time without data counts as zero)' : '');
    const table = document.getElementById('summary');
    NP.clear(table);
    const head = NP.el('tr', {}, NP.el('th', {}, what), NP.el('th', {class: 'num'}, aggregate + ' ' + metric),
                       NP.el('th', {class: 'num'}, 'Peak on the chart'));
    if (requestMetric) {
      head.append(NP.el('th', {class: 'num'}, aggregate + ' ' + requestMetric), NP.el('th', {class: 'num'}, 'Usage / request'));
    }
    table.append(NP.el('thead', {}, head));
    const tbody = NP.el('tbody');
    // Every group with usage, then those with only a request.
    const rows = [...(data.totals.totals || [])].sort((a, b) => (b.value || 0) - (a.value || 0));
    const seen = new Set(rows.map(keyOfTotal));
    for (const [key] of [...requestTotals].sort((a, b) => (b[1] || 0) - (a[1] || 0))) {
      if (!seen.has(key)) rows.push({value: null, key});
    }
    for (const t of rows) {
      const key = t.key !== undefined ? t.key : keyOfTotal(t);
      const points = usage.get(key) || [];
      const peak = points.length ? Math.max(...points.map(p => p[1])) : null;
      const tr = NP.el('tr', {'data-group': key}, NP.el('td', {}, key),
                       NP.el('td', {class: 'num', 'data-value': t.value}, NP.format(unit, t.value)),
                       NP.el('td', {class: 'num'}, NP.format(unit, peak)));
      if (requestMetric) {
        const req = requestTotals.has(key) ? requestTotals.get(key) : null;
        tr.append(NP.el('td', {class: 'num', 'data-value': req}, NP.format(unit, req)),
                  NP.el('td', {class: 'num'}, req > 0 && t.value !== null ? NP.number(100 * t.value / req, 1) + '%' : '\u2013'));
      }
      tbody.append(tr);
    }
    if (!rows.length) {
      tbody.append(NP.el('tr', {}, NP.el('td', {colspan: requestMetric ? 5 : 3, class: 'muted'}, 'No data in this range.')));
    }
    table.append(tbody);

    // The namespace selector: the namespaces with data, or the user's own.
    const select = document.getElementById('namespace-select');
    NP.fillNamespaces(select, allowed || data.namespaces, namespace, !allowed);
  }

  async function load() {
    const mine = ++generation;
    clearTimeout(timer);
    const {from, to} = range.bounds();
    NP.updateQuery(range.query());
    chart.dataset.state = 'loading';
    NP.setStatus('Loading ' + metric + ' for ' + range.describe() + '\u2026');
    try {
      const data = await fetchAll(from, to);
      if (mine !== generation) return;  // a newer request is on its way
      render(data, from, to);
      NP.showError('');
      NP.setStatus(metric + ' from ' + NP.longTime(from) + ' to ' + NP.longTime(to) + ' (' + NP.timeZone() + ')' +
                   (range.relative ? ' (refreshed every ' + REFRESH_MS / 1000 + 's)' : ''));
      chart.dataset.state = 'ready';
    } catch (e) {
      if (mine !== generation) return;
      NP.showError('Could not load ' + metric + ': ' + e.message);
      NP.setStatus('');
      chart.dataset.state = 'error';
    }
    if (range.relative && mine === generation) timer = setTimeout(load, REFRESH_MS);
  }

  document.getElementById('namespace-select').addEventListener('change', event => {
    const ns = event.target.value;
    const q = new URLSearchParams(range.query()).toString();
    window.location.assign('/web/stats/' + metric + (ns ? '/' + encodeURIComponent(ns) : '') + (q ? '?' + q : ''));
  });
  NP.initRangeControls(range, load);
  load();
})();
