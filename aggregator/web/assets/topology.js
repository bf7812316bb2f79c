// The topology page: GET /api/topology drawn as a left-to-right layered graph in SVG (callers on
// the left, the peers they call to the right), one box per workload, Service or external CIDR
// bucket and one arrow per (source, target, port, protocol). An arrow's width follows its
// connection rate and it turns red when connections fail; hovering it (its <title>) gives the
// rates and totals. Arrows carry their port and rate as a label (in a dense graph, only the 20
// busiest do). Below the graph the same edges as a table. Redrawn every 15 s.
'use strict';

(function () {
  const q = new URLSearchParams(window.location.search);
  const allowed = NP.allowedNamespaces();
  const nsSelect = document.getElementById('namespace-select');
  const chart = document.getElementById('topology');
  const table = document.getElementById('edges');
  let namespace = q.get('namespace') || (allowed ? allowed[0] : '');
  let generation = 0;
  const seenNamespaces = new Set(allowed || []);

  const BOX_W = 150, BOX_H = 38, COLUMN = 270, ROW = 62, MARGIN = 24;

  function rate(v) {
    return NP.number(v, v >= 10 ? 1 : 2, v < 10) + '/s';
  }

  // "web/client → web/server :8080/tcp" with the figures, one per line: the hover text.
  function describe(edge, byId) {
    const name = id => (byId.get(id) ? label(byId.get(id)) : id);
    return name(edge.source) + ' \u2192 ' + name(edge.target) + ' :' + edge.port + '/' + edge.protocol + '\n' +
           rate(edge.connections_per_second) + ' connections, ' + rate(edge.failures_per_second) + ' failures\n' +
           'total ' + edge.connections + ' connections, ' + edge.failures + ' failures';
  }

  function label(node) {
    if (node.kind === 'external' || node.kind === 'overflow') return node.name;
    return (node.kind === 'service' ? 'svc ' : '') + node.namespace + '/' + node.name;
  }

  // Layers by longest path from the callers; an edge that closes a cycle is left out of the
  // layering (it is still drawn, curving back).
  function layers(nodes, edges) {
    const layer = new Map(nodes.map(n => [n.id, 0]));
    const out = new Map(nodes.map(n => [n.id, []]));
    for (const e of edges) if (e.source !== e.target) out.get(e.source).push(e.target);
    const state = new Map();
    const order = [];
    const visit = id => {  // a depth-first post-order; back edges (to a node on the stack) skipped
      state.set(id, 1);
      for (const t of out.get(id)) if (!state.has(t)) visit(t);
      state.set(id, 2);
      order.push(id);
    };
    for (const n of nodes) if (!state.has(n.id)) visit(n.id);
    order.reverse();
    const rank = new Map(order.map((id, i) => [id, i]));
    for (const id of order) {
      for (const t of out.get(id)) {
        if (rank.get(t) > rank.get(id)) layer.set(t, Math.max(layer.get(t), layer.get(id) + 1));
      }
    }
    // A caller nobody calls sits just left of its nearest callee, not in the first column: its
    // arrows then do not cross the columns between.
    const called = new Set(edges.map(e => e.target));
    for (const id of order) {
      const next = out.get(id).filter(t => rank.get(t) > rank.get(id)).map(t => layer.get(t));
      if (!called.has(id) && next.length) layer.set(id, Math.max(0, Math.min(...next) - 1));
    }
    return layer;
  }

  // Boxes within a layer ordered by the mean position of their callers (one sweep), to keep
  // arrows from crossing where that is easy.
  function positions(nodes, edges) {
    const layer = layers(nodes, edges);
    const sparse = [];
    for (const n of nodes) (sparse[layer.get(n.id)] = sparse[layer.get(n.id)] || []).push(n);
    const columns = sparse.filter(Boolean);  // no empty column left by a moved caller
    const pos = new Map();
    const callers = new Map(nodes.map(n => [n.id, []]));
    for (const e of edges) callers.get(e.target).push(e.source);
    columns.forEach((column, x) => {
      const key = n => {
        const ys = callers.get(n.id).filter(id => pos.has(id)).map(id => pos.get(id).row);
        return ys.length ? ys.reduce((a, b) => a + b, 0) / ys.length : Infinity;
      };
      column.sort((a, b) => key(a) - key(b) || label(a).localeCompare(label(b)));
      column.forEach((n, row) => pos.set(n.id, {column: x, row}));
    });
    const rows = Math.max(1, ...columns.map(c => c.length));
    for (const [id, p] of pos) {
      const count = columns[p.column].length;
      const offset = (rows - count) * ROW / 2;  // each column centred vertically
      p.x = MARGIN + p.column * COLUMN;
      p.y = MARGIN + offset + p.row * ROW;
    }
    return {pos, width: MARGIN * 2 + (columns.length - 1) * COLUMN + BOX_W, height: MARGIN * 2 + rows * ROW};
  }

  function draw(answer) {
    NP.clear(chart);
    const nodes = answer.nodes, edges = answer.edges;
    if (!edges.length) {
      chart.append(NP.el('p', {class: 'muted', id: 'empty'},
                         'No connections to show' + (namespace ? ' in namespace ' + namespace : '') +
                         '. Agents report them when their topology collector is on.'));
      return;
    }
    const byId = new Map(nodes.map(n => [n.id, n]));
    const {pos, width, height} = positions(nodes, edges);
    const svg = NP.svg('svg', {viewBox: '0 0 ' + width + ' ' + height, role: 'img', 'aria-label': 'connection topology'});
    // Shrinks a little to fit the page, never grows; a wider graph scrolls rather than get unreadably small.
    svg.style.maxWidth = width + 'px';
    svg.style.minWidth = Math.round(width * 0.85) + 'px';
    svg.append(NP.svg('defs', {},
                      NP.svg('marker', {id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 9,
                                        markerHeight: 9, markerUnits: 'userSpaceOnUse', orient: 'auto'},
                             NP.svg('path', {d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead'}))));
    const maxRate = Math.max(...edges.map(e => e.connections_per_second), 0);
    // A dense graph labels only its 20 busiest arrows (every arrow keeps its hover text).
    const LABELLED = 20;
    const labelFrom = edges.length <= 2 * LABELLED ? -Infinity
        : edges.map(e => e.connections_per_second).sort((a, b) => b - a)[LABELLED - 1];
    // Parallel edges between the same two boxes (other ports) fan out a little.
    const seen = new Map();
    // Labels are moved down until they overlap no label placed before (arrows leaving one box
    // would otherwise stack theirs).
    const placed = [];
    const place = (x, y, text) => {
      const w = text.length * 6.2 + 4, h = 12;
      for (let tries = 0; tries < 8; tries++) {
        if (!placed.some(p => Math.abs(p.x - x) * 2 < p.w + w && Math.abs(p.y - y) < h)) break;
        y += h;
      }
      placed.push({x, y, w});
      return y;
    };
    for (const e of edges) {
      const a = pos.get(e.source), b = pos.get(e.target);
      const pair = e.source + '\u0000' + e.target;
      const nth = seen.get(pair) || 0;
      seen.set(pair, nth + 1);
      const x1 = a.x + BOX_W, y1 = a.y + BOX_H / 2 + nth * 6;
      const forward = b.x > a.x;
      const x2 = forward ? b.x : b.x + BOX_W, y2 = b.y + BOX_H / 2 + nth * 6;
      const bend = forward ? Math.max(40, (x2 - x1) / 2) : 80 + nth * 20;
      const d = forward ? `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`
                        : `M${x1},${y1} C${x1 + bend},${y1 - bend} ${x2 + bend},${y2 - bend} ${x2},${y2}`;
      const widthPx = 1.2 + (maxRate > 0 ? 5 * Math.sqrt(e.connections_per_second / maxRate) : 0);
      const text = ':' + e.port + ' ' + rate(e.connections_per_second);
      // A forward arrow's label goes in the gap just before its target, which no box occupies.
      let mx = Math.max(x1, x2) + bend * 0.75, my = (y1 + y2) / 2 - bend * 0.75;
      if (forward) {
        const at = t => [x1, x1 + bend, x2 - bend, x2].reduce((sum, v, i) =>
          sum + v * [1, 3, 3, 1][i] * Math.pow(1 - t, 3 - i) * Math.pow(t, i), 0);
        const aty = t => [y1, y1, y2, y2].reduce((sum, v, i) =>
          sum + v * [1, 3, 3, 1][i] * Math.pow(1 - t, 3 - i) * Math.pow(t, i), 0);
        const want = x2 - (COLUMN - BOX_W) / 2;
        let best = 0.5;
        for (let t = 0; t <= 1; t += 0.02) if (Math.abs(at(t) - want) < Math.abs(at(best) - want)) best = t;
        mx = at(best);
        my = aty(best) - 4;
      }
      const labelled = e.connections_per_second >= labelFrom && placed.length < 2 * LABELLED;
      if (labelled) my = place(mx, my, text);
      svg.append(NP.svg('g', {class: 'edge' + (e.failures_per_second > 0 ? ' failing' : ''),
                              'data-source': e.source, 'data-target': e.target, 'data-port': e.port},
                        NP.svg('title', {}, describe(e, byId)),
                        NP.svg('path', {d, class: 'wire', 'stroke-width': widthPx.toFixed(2), 'marker-end': 'url(#arrow)'}),
                        NP.svg('path', {d, class: 'hit'}),
                        labelled ? NP.svg('text', {x: mx, y: my, class: 'edge-label', 'text-anchor': 'middle'}, text)
                                 : null));
    }
    for (const n of nodes) {
      const p = pos.get(n.id);
      const title = label(n) + ' (' + n.kind + ')';
      const name = n.name;
      const sub = n.kind === 'external' ? 'external' : n.kind === 'overflow' ? 'folded peers'
                  : (n.kind === 'service' ? 'Service in ' : '') + n.namespace;
      svg.append(NP.svg('g', {class: 'node ' + n.kind, 'data-id': n.id, transform: `translate(${p.x},${p.y})`},
                        NP.svg('title', {}, title),
                        NP.svg('rect', {width: BOX_W, height: BOX_H, rx: 5}),
                        NP.svg('text', {x: 8, y: 16, class: 'name'}, name.length > 24 ? name.slice(0, 23) + '\u2026' : name),
                        NP.svg('text', {x: 8, y: 31, class: 'sub'}, sub)));
    }
    chart.append(svg);
  }

  function fillTable(answer) {
    NP.clear(table);
    const byId = new Map(answer.nodes.map(n => [n.id, n]));
    const name = id => (byId.get(id) ? label(byId.get(id)) : id);
    table.append(NP.el('tr', {}, NP.el('th', {}, 'from'), NP.el('th', {}, 'to'), NP.el('th', {}, 'port'),
                       NP.el('th', {class: 'num'}, 'connections/s'), NP.el('th', {class: 'num'}, 'failures/s'),
                       NP.el('th', {class: 'num'}, 'connections'), NP.el('th', {class: 'num'}, 'failures')));
    const rows = [...answer.edges].sort((a, b) => b.connections_per_second - a.connections_per_second);
    for (const e of rows) {
      table.append(NP.el('tr', {class: 'edge-row' + (e.failures_per_second > 0 ? ' failing' : '')},
                         NP.el('td', {}, name(e.source)), NP.el('td', {}, name(e.target)),
                         NP.el('td', {}, e.port + '/' + e.protocol),
                         NP.el('td', {class: 'num'}, rate(e.connections_per_second)),
                         NP.el('td', {class: 'num'}, rate(e.failures_per_second)),
                         NP.el('td', {class: 'num'}, NP.number(e.connections, 0)),
                         NP.el('td', {class: 'num'}, NP.number(e.failures, 0))));
    }
  }

  async function load() {
    const mine = ++generation;
    const p = new URLSearchParams();
    if (namespace) p.set('namespace', namespace);
    try {
      const answer = await NP.api('/api/topology' + (namespace ? '?' + p.toString() : ''));
      if (mine !== generation) return;
      for (const n of answer.nodes) if (n.namespace && !allowed) seenNamespaces.add(n.namespace);
      NP.fillNamespaces(nsSelect, [...seenNamespaces], namespace, !allowed);
      draw(answer);
      fillTable(answer);
      NP.showError('');
      NP.setStatus(answer.edges.length + ' connections between ' + answer.nodes.length + ' peers, from ' +
                   answer.reporting_nodes + ' nodes; as of ' + new Date(answer.generated_at).toLocaleString() +
                   (answer.truncated ? ' (only the busiest edges shown)' : ''));
      document.body.dataset.loaded = String(mine);
    } catch (e) {
      if (mine !== generation) return;
      NP.showError(e.message);
      NP.setStatus('');
    }
  }

  nsSelect.addEventListener('change', () => {
    namespace = nsSelect.value;
    const search = namespace ? '?namespace=' + encodeURIComponent(namespace) : '';
    window.history.replaceState(null, '', window.location.pathname + search);
    load();
  });
  load();
  setInterval(load, 15000);
})();
