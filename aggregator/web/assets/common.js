// Shared by the web UI's pages: the JSON API client, DOM building (text only: nothing from the
// API is ever parsed as HTML), value formatting and the time-range controls.
'use strict';

const NP = {};

// --- API -----------------------------------------------------------------------------------------

// An API error: the status and the server's {"error", "reason"}.
NP.ApiError = class extends Error {
  constructor(status, error, reason) {
    super(reason || error || ('HTTP ' + status));
    this.status = status;
    this.error = error;
  }
};

// Same-origin fetch (the session cookie goes along). Resolves to the parsed JSON (or the
// Response itself when raw is set); rejects with an ApiError carrying the server's reason. A 401
// means the session is gone: back to the login form, returning here afterwards.
NP.api = async function (path, options = {}, raw = false) {
  let response;
  try {
    response = await fetch(path, Object.assign({credentials: 'same-origin', cache: 'no-store'}, options));
  } catch (e) {
    throw new NP.ApiError(0, 'network', 'The aggregator could not be reached (' + e.message + ').');
  }
  if (response.status === 401) {
    window.location.assign('/web/login?next=' + encodeURIComponent(window.location.pathname + window.location.search));
    throw new NP.ApiError(401, 'unauthorized', 'Your session has ended; log in again.');
  }
  if (!response.ok) {
    let error = '', reason = '';
    const text = await response.text();
    try {
      const body = JSON.parse(text);
      error = String(body.error || '');
      reason = String(body.reason || '');
    } catch (e) {
      reason = text.trim().slice(0, 300);
    }
    throw new NP.ApiError(response.status, error, (reason || error || 'request failed') + ' (HTTP ' + response.status + ')');
  }
  if (raw) return response;
  try {
    return await response.json();
  } catch (e) {
    throw new NP.ApiError(response.status, 'bad_json', 'The server answered something that is not JSON.');
  }
};

NP.post = function (path, body) {
  return NP.api(path, {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
};

// --- DOM -----------------------------------------------------------------------------------------

// el('td', {class: 'num'}, 'text', child, ...): strings become text nodes, never markup.
NP.el = function (tag, attrs, ...children) {
  const node = document.createElement(tag);
  NP.setAttrs(node, attrs);
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
};

NP.svg = function (tag, attrs, ...children) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  NP.setAttrs(node, attrs);
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
};

NP.setAttrs = function (node, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined && v !== false) node.setAttribute(k, String(v));
  }
};

NP.clear = function (node) {
  while (node.firstChild) node.removeChild(node.firstChild);
};

NP.showError = function (message) {
  const box = document.getElementById('error');
  if (!box) return;
  box.textContent = message;
  box.hidden = !message;
};

NP.setStatus = function (message) {
  const status = document.getElementById('status');
  if (status) status.textContent = message;
};

// --- Formatting ----------------------------------------------------------------------------------

const BINARY = [[2 ** 40, ' TiB'], [2 ** 30, ' GiB'], [2 ** 20, ' MiB'], [2 ** 10, ' KiB'], [1, ' B']];
const DECIMAL = [[1e12, ' T'], [1e9, ' G'], [1e6, ' M'], [1e3, ' k'], [1, '']];

// How to show values of a unit around a magnitude: a divisor and a suffix, so that an axis uses
// one scale for all its ticks.
NP.scaleFor = function (unit, magnitude) {
  const m = Math.abs(magnitude) || 0;
  const pick = (table, suffix) => {
    for (const [div, name] of table) if (m >= div) return {div, suffix: name + suffix};
    return {div: table[table.length - 1][0], suffix: table[table.length - 1][1] + suffix};
  };
  switch (unit) {
    case 'millicores': return m >= 1000 ? {div: 1000, suffix: ' cores', one: ' core'} : {div: 1, suffix: 'm'};
    case 'bytes': return pick(BINARY, '');
    case 'bytes/s': case 'bytes_per_second': return pick(BINARY, '/s');
    case 'megabytes': return m >= 1000 ? {div: 1000, suffix: ' GB'} : {div: 1, suffix: ' MB'};
    case 'ratio': return {div: 0.01, suffix: '%'};
    case 'milliseconds':
      if (m >= 86400000) return {div: 86400000, suffix: ' d'};
      if (m >= 3600000) return {div: 3600000, suffix: ' h'};
      if (m >= 60000) return {div: 60000, suffix: ' min'};
      return {div: 1000, suffix: ' s'};
    case 'core-seconds': return m >= 3600 ? {div: 3600, suffix: ' core-h'} : {div: 1, suffix: ' core-s'};
    case 'faults/s': case 'errors/s': case 'per_second': {
      const s = pick(DECIMAL, '/s');
      return s;
    }
    default: return pick(DECIMAL, unit && unit !== 'count' && unit !== 'faults' && unit !== 'errors' ? ' ' + unit : '');
  }
};

// Up to `digits` decimals (by magnitude when not given); exactly `digits` when `fixed`.
NP.number = function (v, digits, fixed) {
  if (v === null || v === undefined || !isFinite(v)) return '\u2013';
  const abs = Math.abs(v);
  if (digits === undefined) digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return v.toLocaleString('en-US', {minimumFractionDigits: fixed ? digits : 0, maximumFractionDigits: digits});
};

// A value with its scale's suffix ("1.5 cores", "1 core", "300m", "3.5 GiB").
NP.withSuffix = function (scaled, scale) {
  const text = NP.number(scaled);
  return text + (text === '1' && scale.one ? scale.one : scale.suffix);
};

NP.format = function (unit, v) {
  if (v === null || v === undefined || !isFinite(v)) return '\u2013';
  const scale = NP.scaleFor(unit, v);
  return NP.withSuffix(v / scale.div, scale);
};

// The browser's time zone, which every time on the pages is in.
NP.timeZone = function () {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';
  } catch (e) {
    return 'local time';
  }
};

NP.shortTime = function (date, spanMs) {
  const pad = n => String(n).padStart(2, '0');
  const hm = pad(date.getHours()) + ':' + pad(date.getMinutes());
  if (spanMs <= 36 * 3600 * 1000) return hm;
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const day = months[date.getMonth()] + ' ' + date.getDate();
  return spanMs <= 4 * 86400 * 1000 ? day + ' ' + hm : day;
};

NP.longTime = function (date) {
  const pad = n => String(n).padStart(2, '0');
  return date.getFullYear() + '-' + pad(date.getMonth() + 1) + '-' + pad(date.getDate()) + ' ' +
         pad(date.getHours()) + ':' + pad(date.getMinutes());
};

// --- Time range ----------------------------------------------------------------------------------

NP.RANGES = {'1h': 3600e3, '6h': 6 * 3600e3, '24h': 24 * 3600e3, '7d': 7 * 86400e3, '30d': 30 * 86400e3};

// RFC 3339 in UTC without milliseconds, as the API takes it.
NP.iso = function (date) {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
};

// <input type="datetime-local"> speaks local time without a zone.
function toLocalInput(date) {
  const pad = n => String(n).padStart(2, '0');
  return date.getFullYear() + '-' + pad(date.getMonth() + 1) + '-' + pad(date.getDate()) + 'T' +
         pad(date.getHours()) + ':' + pad(date.getMinutes());
}

// The page's range, from its query string: ?range=6h (relative to now, the default is the first
// quick range) or ?from=<RFC 3339>&to=<RFC 3339>.
NP.Range = class {
  constructor(defaultRange) {
    const q = new URLSearchParams(window.location.search);
    this.relative = null;
    this.from = null;
    this.to = null;
    if (q.get('from') && q.get('to')) {
      const from = new Date(q.get('from')), to = new Date(q.get('to'));
      if (!isNaN(from) && !isNaN(to)) {
        this.from = from;
        this.to = to;
        return;
      }
    }
    this.relative = NP.RANGES[q.get('range')] ? q.get('range') : defaultRange;
  }
  // The absolute range to ask for now.
  bounds() {
    if (this.relative) {
      const to = new Date(Math.floor(Date.now() / 1000) * 1000);
      return {from: new Date(to.getTime() - NP.RANGES[this.relative]), to};
    }
    return {from: this.from, to: this.to};
  }
  query() {
    return this.relative ? {range: this.relative} : {from: NP.iso(this.from), to: NP.iso(this.to)};
  }
  describe() {
    if (this.relative) return 'the last ' + this.relative;
    return NP.longTime(this.from) + ' to ' + NP.longTime(this.to);
  }
};

// Rewrites the page's query string (keeping the path) and the sidebar links so that moving to
// another metric keeps the range.
NP.updateQuery = function (params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const search = q.toString() ? '?' + q.toString() : '';
  window.history.replaceState(null, '', window.location.pathname + search);
  const rangeOnly = new URLSearchParams();
  for (const k of ['range', 'from', 'to']) if (q.get(k)) rangeOnly.set(k, q.get(k));
  const keep = rangeOnly.toString() ? '?' + rangeOnly.toString() : '';
  for (const a of document.querySelectorAll('nav.sidebar a')) {
    a.setAttribute('href', a.getAttribute('href').split('?')[0] + keep);
  }
};

// Wires the quick-range buttons and the custom from/to form; onChange() runs after each change.
NP.initRangeControls = function (range, onChange) {
  const buttons = document.querySelectorAll('.ranges button');
  const fromInput = document.getElementById('from');
  const toInput = document.getElementById('to');
  const show = () => {
    for (const b of buttons) b.classList.toggle('selected', b.dataset.range === range.relative);
    const {from, to} = range.bounds();
    fromInput.value = toLocalInput(from);
    toInput.value = toLocalInput(to);
  };
  for (const b of buttons) {
    b.addEventListener('click', () => {
      range.relative = b.dataset.range;
      show();
      onChange();
    });
  }
  document.getElementById('custom-range').addEventListener('submit', event => {
    event.preventDefault();
    const from = new Date(fromInput.value), to = new Date(toInput.value);
    if (isNaN(from) || isNaN(to)) {
      NP.showError('Enter both dates of the custom range.');
      return;
    }
    if (to <= from) {
      NP.showError('The end of the range must be after its start.');
      return;
    }
    range.relative = null;
    range.from = from;
    range.to = to;
    show();
    onChange();
  });
  show();
};

// The namespaces a restricted user may see (from the page), or null for everyone's.
NP.allowedNamespaces = function () {
  const list = document.body.dataset.namespaces;
  return list ? list.split(',') : null;
};

// Fills a <select> with "All namespaces" (unless restricted) and the given names, keeping `current`.
NP.fillNamespaces = function (select, names, current, allowAll) {
  const all = new Set(names);
  if (current) all.add(current);
  NP.clear(select);
  if (allowAll) select.append(NP.el('option', {value: ''}, 'All namespaces'));
  for (const name of [...all].sort()) select.append(NP.el('option', {value: name}, name));
  select.value = current || '';
};
