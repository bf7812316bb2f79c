// A small SVG line chart: one solid line per group for usage, a dashed one in the same colour for
// its request, a time axis, a value axis in the metric's unit and a hover read-out. Each line
// carries its data (data-group, data-kind, data-points="t:v ...") so tests can check what is drawn.
'use strict';

NP.COLORS = ['#3b82c4', '#e07b39', '#2f9e55', '#8e6bbf', '#d6453d', '#1f9aa8', '#b5892e', '#c2568f',
             '#5b6775', '#7a9a2e'];

function niceStep(raw) {
  if (!(raw > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * p;
}

const TIME_STEPS = [60, 300, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];

// container: an element; opts: {series: [{group, kind: 'usage'|'request', color, points: [[t, v]]}],
// unit, from: Date, to: Date, step: seconds between points}.
NP.lineChart = function (container, opts) {
  NP.clear(container);
  container.classList.add('chart');
  const W = Math.max(container.clientWidth || 0, 480), H = 340;
  const M = {left: 72, right: 18, top: 14, bottom: 30};
  const t0 = opts.from.getTime() / 1000, t1 = opts.to.getTime() / 1000;
  const span = Math.max(t1 - t0, 1);
  let max = 0;
  for (const s of opts.series) for (const [, v] of s.points) if (v !== null && isFinite(v)) max = Math.max(max, v);
  const scale = NP.scaleFor(opts.unit, max);
  const step = niceStep((max / scale.div) / 5 || 1);
  const top = Math.max(Math.ceil((max / scale.div) / step), 1) * step * scale.div;
  const x = t => M.left + (t - t0) / span * (W - M.left - M.right);
  const y = v => H - M.bottom - v / top * (H - M.top - M.bottom);

  const root = NP.svg('svg', {viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': opts.label || 'chart'});
  const grid = NP.svg('g', {class: 'grid'});
  const yAxis = NP.svg('g', {class: 'axis y'});
  for (let v = 0; v <= top * 1.0000001; v += step * scale.div) {
    grid.append(NP.svg('line', {x1: M.left, x2: W - M.right, y1: y(v), y2: y(v)}));
    yAxis.append(NP.svg('text', {x: M.left - 8, y: y(v) + 4, 'text-anchor': 'end'},
                        NP.withSuffix(v / scale.div, scale)));
  }
  const xAxis = NP.svg('g', {class: 'axis x'});
  xAxis.append(NP.svg('line', {x1: M.left, x2: W - M.right, y1: H - M.bottom, y2: H - M.bottom}));
  const tickStep = TIME_STEPS.find(s => span / s <= 8) || 604800;
  const tz = new Date().getTimezoneOffset() * 60;  // ticks on local whole hours and days
  for (let t = Math.ceil((t0 - tz) / tickStep) * tickStep + tz; t <= t1; t += tickStep) {
    grid.append(NP.svg('line', {x1: x(t), x2: x(t), y1: M.top, y2: H - M.bottom}));
    xAxis.append(NP.svg('text', {x: x(t), y: H - M.bottom + 18, 'text-anchor': 'middle'},
                        NP.shortTime(new Date(t * 1000), span * 1000)));
  }
  root.append(grid, yAxis, xAxis);

  let drawn = 0;
  const gapAfter = Math.max(opts.step || 0, 1) * 1.5;
  for (const s of opts.series) {
    let d = '', prev = null;
    for (const [t, v] of s.points) {
      if (v === null || !isFinite(v)) {
        prev = null;
        continue;
      }
      const cmd = prev === null || t - prev > gapAfter ? 'M' : 'L';
      d += cmd + x(t).toFixed(1) + ' ' + y(v).toFixed(1) + ' ';
      if (cmd === 'M') d += 'h0.01 ';  // a lone point still shows (round caps)
      prev = t;
    }
    const path = NP.svg('path', {
      class: 'series ' + s.kind, d: d.trim() || 'M0 0', stroke: s.color, 'stroke-linecap': 'round',
      'data-group': s.group, 'data-kind': s.kind,
      'data-points': s.points.map(([t, v]) => t + ':' + (v === null ? 'null' : v)).join(' ')});
    path.append(NP.svg('title', {}, s.group + (s.kind === 'request' ? ' (request)' : '')));
    root.append(path);
    if (d) drawn++;
  }
  if (!drawn) {
    root.append(NP.svg('text', {class: 'empty', x: W / 2, y: H / 2, 'text-anchor': 'middle'},
                       'No data in this range'));
  }

  // Hover read-out: the values of every line at the nearest point in time.
  const times = [...new Set(opts.series.flatMap(s => s.points.map(p => p[0])))].sort((a, b) => a - b);
  const hover = NP.svg('g', {class: 'hover', visibility: 'hidden'});
  const rule = NP.svg('line', {y1: M.top, y2: H - M.bottom});
  hover.append(rule);
  root.append(hover);
  const tip = NP.el('div', {class: 'tooltip', hidden: true});
  const overlay = NP.svg('rect', {x: M.left, y: M.top, width: W - M.left - M.right, height: H - M.top - M.bottom,
                                  fill: 'transparent'});
  root.append(overlay);
  overlay.addEventListener('mousemove', event => {
    if (!times.length) return;
    const box = root.getBoundingClientRect();
    const px = (event.clientX - box.left) * W / box.width;
    const t = t0 + (px - M.left) / (W - M.left - M.right) * span;
    let best = times[0];
    for (const c of times) if (Math.abs(c - t) < Math.abs(best - t)) best = c;
    rule.setAttribute('x1', x(best));
    rule.setAttribute('x2', x(best));
    hover.setAttribute('visibility', 'visible');
    NP.clear(tip);
    tip.append(NP.el('div', {class: 'when'}, NP.longTime(new Date(best * 1000))));
    for (const s of opts.series) {
      const p = s.points.find(q => q[0] === best);
      if (!p || p[1] === null) continue;
      const line = NP.el('div', {}, NP.el('span', {class: 'swatch ' + s.kind}),
                         s.group + (s.kind === 'request' ? ' request' : '') + ': ' + NP.format(opts.unit, p[1]));
      line.firstChild.style.borderTopColor = s.color;
      tip.append(line);
    }
    tip.hidden = false;
    const left = (x(best) / W) * box.width;
    tip.style.left = Math.min(left + 12, box.width - 240) + 'px';
    tip.style.top = '10px';
  });
  overlay.addEventListener('mouseleave', () => {
    hover.setAttribute('visibility', 'hidden');
    tip.hidden = true;
  });
  container.append(root, tip);
  return root;
};

// The legend under a chart: one entry per group, a solid sample when it has usage and a dashed one
// when it has a request.
NP.legend = function (container, groups) {
  NP.clear(container);
  for (const g of groups) {
    const item = NP.el('span', {class: 'item'});
    if (g.usage !== false) {
      const usage = NP.el('span', {class: 'swatch usage'});
      usage.style.borderTopColor = g.color;
      item.append(usage);
    }
    item.append(g.group);
    if (g.request) {
      const request = NP.el('span', {class: 'swatch request'});
      request.style.borderTopColor = g.color;
      item.append(' ', request, 'request');
    }
    container.append(item);
  }
};
