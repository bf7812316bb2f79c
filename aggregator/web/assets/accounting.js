// The accounting page: GET /api/v1/accounting as a table (per namespace or per pod), and the same
// query as a CSV download.
'use strict';

(function () {
  const q = new URLSearchParams(window.location.search);
  const allowed = NP.allowedNamespaces();
  const range = new NP.Range('24h');
  const bySelect = document.getElementById('by');
  const nsSelect = document.getElementById('namespace-select');
  const table = document.getElementById('accounting');
  const download = document.getElementById('download-csv');
  let by = q.get('by') === 'pod' ? 'pod' : 'namespace';
  let namespace = q.get('namespace') || '';
  let generation = 0;
  bySelect.value = by;

  const COLUMNS = [
    ['cpu_core_hours_used', 'used'], ['cpu_core_hours_requested', 'requested'], ['cpu_core_hours_billable', 'billable'],
    ['memory_gib_hours_used', 'used'], ['memory_gib_hours_requested', 'requested'],
    ['memory_gib_hours_billable', 'billable'], ['gpu_hours', 'allocated'],
  ];

  function apiUrl(format) {
    const {from, to} = range.bounds();
    const p = new URLSearchParams({from: NP.iso(from), to: NP.iso(to), by});
    if (namespace) p.set('namespace', namespace);
    if (format) p.set('format', format);
    return '/api/v1/accounting?' + p.toString();
  }

  function cell(value) {
    return NP.el('td', {class: 'num', 'data-value': value, title: String(value)}, NP.number(value, 3, true));
  }

  function render(answer) {
    NP.clear(table);
    const keys = by === 'pod' ? ['namespace', 'pod'] : ['namespace'];
    const group = NP.el('tr', {class: 'group'}, NP.el('th', {colspan: keys.length}),
                        NP.el('th', {colspan: 3}, 'CPU (core-hours)'), NP.el('th', {colspan: 3}, 'Memory (GiB-hours)'),
                        NP.el('th', {}, 'GPU (GPU-hours)'));
    const head = NP.el('tr');
    for (const k of keys) head.append(NP.el('th', {}, k));
    for (const [, label] of COLUMNS) head.append(NP.el('th', {class: 'num'}, label));
    table.append(NP.el('thead', {}, group, head));
    const tbody = NP.el('tbody');
    const totals = COLUMNS.map(() => 0);
    for (const row of answer.rows || []) {
      const tr = NP.el('tr', {'data-key': keys.map(k => row[k]).join('/')});
      for (const k of keys) tr.append(NP.el('td', {}, row[k]));
      COLUMNS.forEach(([field], i) => {
        const v = Number(row[field] || 0);
        totals[i] += v;
        tr.append(cell(v));
      });
      tbody.append(tr);
    }
    if (!(answer.rows || []).length) {
      tbody.append(NP.el('tr', {}, NP.el('td', {colspan: keys.length + COLUMNS.length, class: 'muted'},
                                         'No usage recorded in this range.')));
    }
    table.append(tbody);
    const foot = NP.el('tr', {id: 'totals'}, NP.el('td', {colspan: keys.length}, 'Total'));
    for (const t of totals) foot.append(cell(t));
    table.append(NP.el('tfoot', {}, foot));
  }

  async function fillNamespaces() {
    // The namespace list comes from the per-namespace rows of the same range.
    if (allowed) {
      NP.fillNamespaces(nsSelect, allowed, namespace, true);
      return;
    }
    const {from, to} = range.bounds();
    const answer = await NP.api('/api/v1/accounting?' + new URLSearchParams({from: NP.iso(from), to: NP.iso(to)}));
    NP.fillNamespaces(nsSelect, (answer.rows || []).map(r => r.namespace), namespace, true);
  }

  async function load() {
    const mine = ++generation;
    const query = Object.assign(range.query(), {by: by === 'pod' ? 'pod' : '', namespace});
    NP.updateQuery(query);
    download.setAttribute('href', apiUrl('csv'));
    table.dataset.state = 'loading';
    NP.setStatus('Loading accounting for ' + range.describe() + '\u2026');
    try {
      const [answer] = await Promise.all([NP.api(apiUrl('')), fillNamespaces()]);
      if (mine !== generation) return;
      render(answer);
      NP.showError('');
      const rows = (answer.rows || []).length;
      NP.setStatus(rows + (rows === 1 ? ' row' : ' rows') + ' from ' + NP.longTime(new Date(answer.from)) + ' to ' +
                   NP.longTime(new Date(answer.to)) + ' (' + NP.timeZone() +
                   (answer.step ? '; billed in steps of ' + answer.step / 60 + ' min' : '') + ')');
      table.dataset.state = 'ready';
    } catch (e) {
      if (mine !== generation) return;
      NP.showError('Could not load the accounting: ' + e.message);
      NP.setStatus('');
      table.dataset.state = 'error';
    }
  }

  // The download goes through fetch so that an error (a 4xx or 502 with its reason) is shown here
  // instead of being saved as a file.
  download.addEventListener('click', async event => {
    event.preventDefault();
    try {
      const response = await NP.api(apiUrl('csv'), {}, true);
      const blob = await response.blob();
      const disposition = response.headers.get('Content-Disposition') || '';
      const match = /filename="([^"]+)"/.exec(disposition);
      const name = match ? match[1] : 'nodepack-accounting.csv';
      const link = NP.el('a', {href: URL.createObjectURL(blob), download: name});
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60000);
      NP.showError('');
      NP.setStatus('Downloaded ' + name);
    } catch (e) {
      NP.showError('Could not download the CSV: ' + e.message);
    }
  });
  bySelect.addEventListener('change', () => {
    by = bySelect.value;
    load();
  });
  nsSelect.addEventListener('change', () => {
    namespace = nsSelect.value;
    load();
  });
  NP.initRangeControls(range, load);
  load();
})();
