// Supervisor figures (research staff-console §6.2): each figure is a table (the
// accessible form) with an SVG chart drawn from that very table, for a chosen
// period, with a CSV download of the same table (streamed by the server).
import { send, errorText, download, loadCatalogue, nameOf } from '../api.js';
import { t, lang } from '../i18n.js';
import { h } from '/app/dom.js';

const FIGURES = ['open_by_age', 'overdue', 'sla_weekly', 'resolve_time_weekly', 'flow_weekly', 'first_response', 'workload'];
const PREFS_KEY = 'civicdesk.staff.stats';
const SVG = 'http://www.w3.org/2000/svg';
const MAX_CHART_ROWS = 60;

const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
function preset(days) {
  const to = new Date();
  const from = new Date(to.getTime() - (days - 1) * 86400000);
  return { from: iso(from), to: iso(to) };
}

function svg(tag, attrs = {}, ...kids) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const k of kids) if (k) el.append(k);
  return el;
}

/**
 * chartFromTable draws the figure's chart from the <table> data (not from a
 * separate data path): rows × series as grouped bars or lines. aria-hidden —
 * screen readers read the table.
 */
export function chartFromTable(fig) {
  const cols = fig.columns || [];
  const chart = fig.chart || {};
  const xi = cols.findIndex((c) => c.key === chart.x);
  const si = (chart.series || []).map((k) => cols.findIndex((c) => c.key === k)).filter((i) => i >= 0);
  const rows = (fig.rows || []).slice(0, MAX_CHART_ROWS);
  if (xi < 0 || !si.length || !rows.length) return null;
  const W = 640;
  const H = 240;
  const pad = { l: 44, r: 8, t: 10, b: 46 };
  const vals = rows.flatMap((r) => si.map((i) => Number(r[i]) || 0));
  const max = Math.max(1, ...vals);
  const iw = W - pad.l - pad.r;
  const ih = H - pad.t - pad.b;
  const y = (v) => pad.t + ih - (v / max) * ih;
  const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', 'aria-hidden': 'true', focusable: 'false', width: W, height: H });
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    g.append(svg('line', { x1: pad.l, x2: W - pad.r, y1: y(v), y2: y(v), stroke: '#d0d5dd' }),
      svg('text', { x: pad.l - 4, y: y(v) + 4, 'text-anchor': 'end' }, document.createTextNode(fmtNum(v))));
  }
  const step = iw / rows.length;
  const label = (r, i) => {
    if (rows.length > 12 && i % Math.ceil(rows.length / 12)) return null;
    const s = String(r[xi] ?? '');
    return svg('text', { x: pad.l + step * i + step / 2, y: H - pad.b + 14, 'text-anchor': 'middle' }, document.createTextNode(s.length > 12 ? `${s.slice(0, 11)}…` : s));
  };
  rows.forEach((r, i) => { const l = label(r, i); if (l) g.append(l); });
  if (chart.type === 'line') {
    si.forEach((ci, s) => {
      const pts = rows.map((r, i) => `${pad.l + step * i + step / 2},${y(Number(r[ci]) || 0)}`).join(' ');
      g.append(svg('polyline', { points: pts, class: `s${s % 6}` }));
      rows.forEach((r, i) => g.append(svg('circle', { cx: pad.l + step * i + step / 2, cy: y(Number(r[ci]) || 0), r: 3, class: `s${s % 6}` })));
    });
  } else {
    const bw = Math.max(1, (step * 0.8) / si.length);
    rows.forEach((r, i) => si.forEach((ci, s) => {
      const v = Number(r[ci]) || 0;
      g.append(svg('rect', { x: pad.l + step * i + step * 0.1 + bw * s, y: y(v), width: bw, height: Math.max(0, pad.t + ih - y(v)), class: `s${s % 6}` }));
    }));
  }
  const legend = h('ul', { class: 'legend', 'aria-hidden': 'true' }, si.map((ci, s) => h('li', {}, h('span', { class: `sw s${s % 6}` }), cols[ci].label || cols[ci].key)));
  return h('div', {}, g, legend);
}

function fmtNum(v) {
  if (typeof v !== 'number') return v === null || v === undefined ? '—' : String(v);
  return new Intl.NumberFormat(lang(), { maximumFractionDigits: v < 10 ? 1 : 0 }).format(v);
}

/** render draws the supervisor view. */
export async function render(main) {
  const L = lang();
  let p;
  try { p = { ...preset(28), department: '', ...JSON.parse(localStorage.getItem(PREFS_KEY) || '{}') }; } catch { p = { ...preset(28), department: '' }; }
  const cat = await loadCatalogue().catch(() => ({ departments: [] }));
  const from = h('input', { type: 'date', id: 'st-from', value: p.from, required: true });
  const to = h('input', { type: 'date', id: 'st-to', value: p.to, required: true });
  const dept = h('select', { id: 'st-department' }, h('option', { value: '' }, t('filter.any')),
    cat.departments.map((d) => h('option', { value: d.code, selected: d.code === p.department }, nameOf(d, L))));
  const box = h('div', { id: 'figures' });
  const err = h('p', { class: 'err', role: 'alert', id: 'st-error' });
  const presetBtn = (days, key) => h('button', { type: 'button', class: 'secondary', onclick: () => { Object.assign(p, preset(days)); from.value = p.from; to.value = p.to; load(); } }, t(key));

  function query() {
    const q = { from: from.value, to: to.value, lang: L };
    if (dept.value) q.department = dept.value;
    return q;
  }
  async function load() {
    if (!from.value || !to.value || from.value > to.value) { err.textContent = t('stats.badPeriod'); return; }
    err.textContent = '';
    Object.assign(p, { from: from.value, to: to.value, department: dept.value });
    localStorage.setItem(PREFS_KEY, JSON.stringify(p));
    box.setAttribute('aria-busy', 'true');
    box.replaceChildren(h('p', { role: 'status' }, t('loading')));
    const sections = await Promise.all(FIGURES.map(async (name) => {
      const title = t(`fig.${name}`);
      const sec = h('section', { class: 'figure', id: `fig-${name}`, 'aria-labelledby': `fig-${name}-h` }, h('h2', { id: `fig-${name}-h` }, title));
      try {
        const fig = await send(`/api/staff/stats/${name}`, { query: query() });
        sec.append(h('p', { class: 'hint' }, t(`fig.${name}.about`)));
        const chart = chartFromTable(fig);
        if (chart) sec.append(chart);
        sec.append(table(fig, title));
        sec.append(h('div', { class: 'actions' }, h('button', {
          type: 'button', class: 'secondary', id: `csv-${name}`,
          onclick: () => download(`/api/staff/stats/${name}?${new URLSearchParams({ ...query(), format: 'csv' })}`, `${name}-${p.from}-${p.to}.csv`).catch((e) => { err.textContent = errorText(e); }),
        }, t('stats.csv', { figure: title }))));
      } catch (e) {
        sec.append(h('p', { class: 'note bad' }, errorText(e)));
      }
      return sec;
    }));
    box.replaceChildren(...sections);
    box.removeAttribute('aria-busy');
  }

  function table(fig, title) {
    const cols = fig.columns || [];
    if (!(fig.rows || []).length) return h('p', { class: 'muted' }, t('stats.noRows'));
    return h('table', {},
      h('caption', { class: 'sr-only' }, title),
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c.label || c.key)))),
      h('tbody', {}, fig.rows.map((r) => h('tr', {}, r.map((v, i) => (i === 0 ? h('th', { scope: 'row' }, fmtNum(v)) : h('td', {}, fmtNum(v))))))));
  }

  main.replaceChildren(h('h1', { tabindex: '-1' }, t('stats.title')),
    h('form', { id: 'period', class: 'row2', onsubmit: (e) => { e.preventDefault(); load(); } },
      h('div', {}, h('label', { for: 'st-from' }, t('stats.from')), from),
      h('div', {}, h('label', { for: 'st-to' }, t('stats.to')), to),
      h('div', {}, h('label', { for: 'st-department' }, t('filter.department')), dept),
      h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'st-apply' }, t('stats.show')))),
    h('div', { class: 'actions', role: 'group', 'aria-label': t('stats.presets') }, presetBtn(7, 'stats.last7'), presetBtn(28, 'stats.last28'), presetBtn(91, 'stats.last91')),
    err, box);
  await load();
  return {};
}
