// Start and queue: counts, the four tabs, sticky filters and sorts, 50 rows with
// keyset "more", live updates through PocketBase realtime (a row changes in place
// or an "N new" banner appears; rows never move under the clerk's cursor; after a
// reconnect the queue refetches, since realtime does not replay), bulk actions
// with a result per row, and the request file beside the list (views/file.js).
import { pb, me, send, errorText, loadCatalogue, nameOf, staffName, rememberStaff } from '../api.js';
import { t, lang, fmtDate, fmtSpan, toTime } from '../i18n.js';
import { h, announce } from '/app/dom.js';
import { showHelp } from '../keys.js';

const TABS = ['mine', 'unassigned', 'overdue', 'open'];
const STATUSES = ['received', 'in_progress', 'waiting_citizen', 'resolved', 'rejected', 'cancelled'];
const OPEN = ['received', 'in_progress', 'waiting_citizen'];
const PRIORITIES = ['low', 'normal', 'high', 'urgent'];
const SORTS = ['due', 'created', 'updated', 'priority'];
const PREFS_KEY = 'civicdesk.staff.queue';
const EMPTY_FILTERS = { status: [], service: '', department: '', priority: '', assignee: '', due_from: '', due_to: '', q: '' };
const COUNTS_MIN_INTERVAL_MS = 5000;

function loadPrefs() {
  try {
    const p = JSON.parse(localStorage.getItem(PREFS_KEY) || '{}');
    return { filters: { ...EMPTY_FILTERS, ...(p.filters || {}) }, sort: SORTS.includes(p.sort) ? p.sort : 'due', dir: p.dir === 'desc' ? 'desc' : 'asc' };
  } catch {
    return { filters: { ...EMPTY_FILTERS }, sort: 'due', dir: 'asc' };
  }
}

const savePrefs = (p) => localStorage.setItem(PREFS_KEY, JSON.stringify(p));

/** dueInfo describes a due date: {text, cls} — words and an icon, never colour alone. */
export function dueInfo(dueAt, status, now = Date.now()) {
  const due = toTime(dueAt);
  if (Number.isNaN(due)) return { text: t('due.none'), cls: '' };
  if (!OPEN.includes(status)) return { text: fmtDate(dueAt), cls: '' };
  const left = due - now;
  if (left < 0) return { text: t('due.overdue', { span: fmtSpan(-left) }), cls: 'overdue' };
  return { text: t('due.in', { span: fmtSpan(left) }), cls: left < 86400000 ? 'soon' : '' };
}

/** render draws the queue; the request file opens beside it for params.id. */
export async function render(main, params, ctx) {
  const prefs = loadPrefs();
  const cat = await loadCatalogue().catch(() => ({ services: [], departments: [], serviceById: new Map(), deptById: new Map() }));
  const st = {
    tab: params.tab, id: params.id, rows: [], byId: new Map(), next: null, loading: false,
    selected: new Set(), fresh: new Set(), cursor: -1, file: null, connects: 0, countsAt: 0, colleagues: [],
  };
  const L = lang();

  const countsList = h('ul', { class: 'counts', id: 'counts', 'aria-label': t('counts.label') });
  const tabsNav = h('nav', { class: 'tabs', 'aria-label': t('tabs.label') });
  const banner = h('div', { class: 'banner', id: 'new-banner', role: 'status', hidden: true });
  const liveState = h('p', { class: 'hint', id: 'live-state', role: 'status' });
  const tbody = h('tbody', { id: 'queue-rows' });
  const status = h('p', { id: 'queue-status', role: 'status', class: 'hint' });
  const more = h('button', { type: 'button', class: 'secondary', id: 'queue-more', hidden: true, onclick: () => load(true) }, t('queue.more'));
  const bulkBox = h('div', { id: 'bulk', class: 'bulk', hidden: true });
  const fileBox = h('section', { class: 'file', id: 'file', 'aria-labelledby': 'file-title', hidden: true });
  const work = h('div', { class: 'work' });
  const selAll = h('input', { type: 'checkbox', id: 'select-all', 'aria-label': t('bulk.selectPage'), onchange: (e) => selectPage(e.target.checked) });

  // --- filters (sticky: kept in localStorage) ---
  const f = prefs.filters;
  const sel = (id, labelKey, options, value) => [
    h('label', { for: id }, t(labelKey)),
    h('select', { id }, options.map(([v, text]) => h('option', { value: v, selected: v === value }, text))),
  ];
  const statusBoxes = STATUSES.map((s) => h('label', { class: 'choice' },
    h('input', { type: 'checkbox', name: 'f-status', value: s, checked: f.status.includes(s) }), t(`status.${s}`)));
  const filterForm = h('form', {
    id: 'filters', class: 'row2',
    onsubmit: (e) => { e.preventDefault(); applyFilters(); },
  },
  h('fieldset', {}, h('legend', {}, t('filter.status')), statusBoxes),
  h('div', {},
    ...sel('f-service', 'filter.service', [['', t('filter.any')], ...cat.services.map((s) => [s.code, nameOf(s, L)])], f.service),
    ...sel('f-department', 'filter.department', [['', t('filter.any')], ...cat.departments.map((d) => [d.code, nameOf(d, L)])], f.department),
    ...sel('f-priority', 'filter.priority', [['', t('filter.any')], ...PRIORITIES.map((p) => [p, t(`priority.${p}`)])], f.priority)),
  h('div', {},
    h('label', { for: 'f-assignee' }, t('filter.assignee')),
    h('select', { id: 'f-assignee' }, h('option', { value: '' }, t('filter.any')), h('option', { value: 'me', selected: f.assignee === 'me' }, t('filter.me')),
      h('option', { value: 'none', selected: f.assignee === 'none' }, t('filter.nobody'))),
    h('label', { for: 'f-due-from' }, t('filter.dueFrom')), h('input', { type: 'date', id: 'f-due-from', value: f.due_from }),
    h('label', { for: 'f-due-to' }, t('filter.dueTo')), h('input', { type: 'date', id: 'f-due-to', value: f.due_to })),
  h('div', {},
    ...sel('f-sort', 'filter.sort', SORTS.map((s) => [s, t(`sort.${s}`)]), prefs.sort),
    ...sel('f-dir', 'filter.dir', [['asc', t('sort.asc')], ['desc', t('sort.desc')]], prefs.dir),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'filters-apply' }, t('filter.apply')),
      h('button', { type: 'button', class: 'secondary', id: 'filters-reset', onclick: resetFilters }, t('filter.reset')))));
  const search = h('input', { type: 'search', id: 'q', value: f.q, 'aria-describedby': 'q-hint', autocomplete: 'off', 'aria-keyshortcuts': '/' });
  const searchForm = h('form', { id: 'search', role: 'search', onsubmit: (e) => { e.preventDefault(); applyFilters(); } },
    h('label', { for: 'q' }, t('filter.q')), h('p', { class: 'hint', id: 'q-hint' }, t('filter.qHint')),
    h('div', { class: 'actions' }, search, h('button', { type: 'submit' }, t('filter.find'))));
  const activeCount = () => Object.entries(prefs.filters).filter(([k, v]) => k !== 'q' && (Array.isArray(v) ? v.length : v)).length;
  const filtersSummary = h('summary', {});
  const setSummary = () => { filtersSummary.textContent = t('filter.title', { n: activeCount() }); };
  setSummary();
  const details = h('details', { class: 'filters' }, filtersSummary, filterForm);

  function readFilters() {
    const val = (id) => document.getElementById(id).value;
    prefs.filters = {
      status: [...filterForm.querySelectorAll('input[name=f-status]:checked')].map((i) => i.value),
      service: val('f-service'), department: val('f-department'), priority: val('f-priority'), assignee: val('f-assignee'),
      due_from: val('f-due-from'), due_to: val('f-due-to'), q: search.value.trim(),
    };
    prefs.sort = val('f-sort');
    prefs.dir = val('f-dir');
  }
  function applyFilters() { readFilters(); savePrefs(prefs); setSummary(); load(false); }
  function resetFilters() {
    prefs.filters = { ...EMPTY_FILTERS };
    prefs.sort = 'due';
    prefs.dir = 'asc';
    savePrefs(prefs);
    ctx.rerender();
  }

  function query(after) {
    const q = { tab: st.tab, sort: prefs.sort, dir: prefs.dir, limit: 50, lang: L };
    const fl = prefs.filters;
    if (fl.status.length) q.status = fl.status.join(',');
    for (const k of ['service', 'department', 'priority', 'due_from', 'due_to', 'q']) if (fl[k]) q[k] = fl[k];
    if (fl.assignee === 'me') q.assignee = me().id;
    else if (fl.assignee) q.assignee = fl.assignee;
    if (after) q.after = after;
    return q;
  }

  // --- tabs and counts ---
  function renderTabs() {
    tabsNav.replaceChildren(h('ul', {}, TABS.map((tab) => h('li', {},
      h('a', { href: `#/queue/${tab}`, id: `tab-${tab}`, 'aria-current': tab === st.tab ? 'page' : null }, t(`tab.${tab}`))))));
  }
  async function loadCounts(force = false) {
    if (!force && Date.now() - st.countsAt < COUNTS_MIN_INTERVAL_MS) {
      if (!st.countsTimer) st.countsTimer = setTimeout(() => { st.countsTimer = null; loadCounts(true); }, COUNTS_MIN_INTERVAL_MS);
      return;
    }
    st.countsAt = Date.now();
    try {
      const c = await send('/api/staff/counts');
      countsList.replaceChildren(...['mine', 'unassigned', 'dueToday', 'overdue', 'waitingCitizen'].map((k) => h('li', { id: `count-${k}` },
        h('strong', {}, String(c[k] ?? 0)), t(`counts.${k}`))));
    } catch (err) {
      countsList.replaceChildren(h('li', {}, errorText(err)));
    }
  }

  // --- rows ---
  const cell = (row, key) => row.tr?.querySelector(`[data-k="${key}"]`);
  function rowCells(row) {
    const due = dueInfo(row.due_at, row.status);
    return {
      status: h('span', { class: 'status' }, t(`status.${row.status}`)),
      due: h('span', { class: `due ${due.cls}` }, due.text),
      assignee: row.assignee?.name || h('span', { class: 'muted' }, t('queue.unassigned')),
      priority: row.priority ? t(`priority.${row.priority}`) : '',
    };
  }
  function rowEl(row, i) {
    const c = rowCells(row);
    const box = h('input', {
      type: 'checkbox', class: 'row-select', checked: st.selected.has(row.id), 'aria-label': t('bulk.selectRow', { number: row.number }),
      onchange: (e) => { if (e.target.checked) st.selected.add(row.id); else st.selected.delete(row.id); renderBulk(); },
    });
    const link = h('a', { class: 'num', href: `#/queue/${st.tab}/${row.id}`, 'data-id': row.id, onclick: () => { st.cursor = i; } }, row.number || row.id);
    const tr = h('tr', { 'data-id': row.id },
      h('td', { class: 'sel' }, box),
      h('td', {}, link, row.citizen_replied ? h('span', { class: 'badge', title: t('queue.replied') }, '●', h('span', { class: 'sr-only' }, t('queue.replied'))) : null,
        row.has_photos ? h('span', { class: 'sr-only' }, t('queue.hasPhotos')) : null,
        h('div', { class: 'sum' }, row.summary || '', row.address ? ` · ${row.address}` : '')),
      h('td', { class: 'wide' }, row.service?.name || ''),
      h('td', { 'data-k': 'status' }, c.status),
      h('td', { 'data-k': 'due' }, c.due),
      h('td', { 'data-k': 'assignee' }, c.assignee),
      h('td', { 'data-k': 'priority', class: 'wide' }, c.priority));
    row.tr = tr;
    markCurrent(row);
    return tr;
  }
  function markCurrent(row) {
    const cur = row.id === st.id;
    row.tr.classList.toggle('current', cur);
    if (cur) row.tr.setAttribute('aria-current', 'true'); else row.tr.removeAttribute('aria-current');
  }
  function patchRow(row) {
    const c = rowCells(row);
    for (const k of ['status', 'due', 'assignee', 'priority']) cell(row, k)?.replaceChildren(c[k]);
    row.tr?.classList.add('changed');
  }

  async function load(append) {
    if (st.loading) return;
    st.loading = true;
    status.textContent = t('loading');
    more.disabled = true;
    try {
      const r = await send('/api/staff/queue', { query: query(append ? st.next : null) });
      const items = r.items || [];
      rememberStaff(items.map((x) => x.assignee).filter(Boolean));
      if (!append) {
        st.rows = [];
        st.byId.clear();
        st.selected.clear();
        st.fresh.clear();
        tbody.replaceChildren();
        banner.hidden = true;
      }
      for (const row of items) {
        if (st.byId.has(row.id)) continue;
        const i = st.rows.length;
        st.rows.push(row);
        st.byId.set(row.id, row);
        tbody.append(rowEl(row, i));
      }
      st.next = r.next || null;
      more.hidden = !st.next;
      status.textContent = st.rows.length ? t('queue.shown', { n: st.rows.length }) : t('queue.empty');
      if (st.id) st.cursor = st.rows.findIndex((x) => x.id === st.id);
      renderBulk();
    } catch (err) {
      status.textContent = errorText(err);
    } finally {
      st.loading = false;
      more.disabled = false;
    }
  }

  // --- bulk ---
  function selectPage(on) {
    for (const row of st.rows) {
      if (on) st.selected.add(row.id); else st.selected.delete(row.id);
      const b = row.tr?.querySelector('.row-select');
      if (b) b.checked = on;
    }
    renderBulk();
  }
  function renderBulk() {
    const n = st.selected.size;
    selAll.checked = n > 0 && st.rows.every((r) => st.selected.has(r.id));
    if (!n) { bulkBox.hidden = true; return; }
    if (!bulkBox.hidden && bulkBox.dataset.n) { bulkBox.querySelector('#bulk-count').textContent = t('bulk.selected', { n }); bulkBox.dataset.n = n; return; }
    bulkBox.hidden = false;
    bulkBox.dataset.n = n;
    const results = h('ul', { class: 'results', id: 'bulk-results', 'aria-live': 'polite' });
    const form = h('form', { id: 'bulk-form', onsubmit: (e) => { e.preventDefault(); runBulk(form, results); } },
      h('h2', { id: 'bulk-count' }, t('bulk.selected', { n })),
      h('div', { class: 'row2' },
        h('div', {}, h('label', { for: 'bulk-status' }, t('bulk.status')),
          h('select', { id: 'bulk-status' }, h('option', { value: '' }, t('bulk.noChange')), ['in_progress', 'waiting_citizen', 'resolved', 'rejected'].map((s) => h('option', { value: s }, t(`status.${s}`))))),
        h('div', {}, h('label', { for: 'bulk-assignee' }, t('bulk.assignee')),
          h('select', { id: 'bulk-assignee' }, h('option', { value: '' }, t('bulk.noChange')), h('option', { value: me().id }, t('filter.me')),
            st.colleagues.filter((c) => c.id !== me().id).map((c) => h('option', { value: c.id }, c.name)))),
        h('div', {}, h('label', { for: 'bulk-priority' }, t('bulk.priority')),
          h('select', { id: 'bulk-priority' }, h('option', { value: '' }, t('bulk.noChange')), PRIORITIES.map((p) => h('option', { value: p }, t(`priority.${p}`)))))),
      h('label', { for: 'bulk-note' }, t('bulk.note')),
      h('textarea', { id: 'bulk-note', maxlength: 2000, rows: 2 }),
      h('label', { class: 'choice' }, h('input', { type: 'checkbox', id: 'bulk-public' }), t('bulk.notePublic')),
      h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'bulk-apply' }, t('bulk.apply')),
        h('button', { type: 'button', class: 'secondary', onclick: () => selectPage(false) }, t('bulk.clear'))),
      results);
    bulkBox.replaceChildren(form);
  }
  async function runBulk(form, results) {
    const ids = [...st.selected];
    const patch = {};
    const v = (id) => form.querySelector(`#${id}`).value;
    const note = v('bulk-note').trim();
    const pub = form.querySelector('#bulk-public').checked;
    if (v('bulk-status')) { patch.status = v('bulk-status'); if (note && pub) patch.status_note = note; }
    if (v('bulk-assignee')) patch.assignee = v('bulk-assignee');
    if (v('bulk-priority')) patch.priority = v('bulk-priority');
    const body = { ids, patch };
    if (note && !(patch.status && pub)) body.note = { message: note, public: pub };
    if (!Object.keys(patch).length && !body.note) { results.replaceChildren(h('li', { class: 'bad' }, t('bulk.nothing'))); return; }
    const btn = form.querySelector('#bulk-apply');
    btn.disabled = true;
    results.replaceChildren(h('li', {}, t('bulk.running', { n: ids.length })));
    try {
      const r = await send('/api/staff/bulk', { method: 'POST', body });
      const list = r.results || [];
      const ok = list.filter((x) => x.ok).length;
      results.replaceChildren(h('li', {}, t('bulk.done', { ok, n: list.length })), ...list.map((x) => {
        const num = st.byId.get(x.id)?.number || x.id;
        return h('li', { class: x.ok ? 'ok' : 'bad', 'data-id': x.id }, x.ok ? t('bulk.rowOk', { number: num }) : t('bulk.rowFailed', { number: num, message: x.error?.message || x.error?.code || '' }));
      }));
      announce(t('bulk.done', { ok, n: list.length }));
    } catch (err) {
      results.replaceChildren(h('li', { class: 'bad' }, errorText(err)));
    } finally {
      btn.disabled = false;
    }
  }

  // --- realtime ---
  function matchesTab(rec) {
    if (!OPEN.includes(rec.status)) return false;
    if (st.tab === 'mine') return rec.assignee === me().id;
    if (st.tab === 'unassigned') return !rec.assignee;
    if (st.tab === 'overdue') return toTime(rec.due_at) < Date.now();
    return true;
  }
  async function onEvent(e) {
    const rec = e.record;
    const row = st.byId.get(rec.id);
    if (row) {
      if (e.action === 'delete') { row.tr?.classList.add('gone'); return; }
      Object.assign(row, { status: rec.status, priority: rec.priority, due_at: rec.due_at, updated: rec.updated, overdue: !!rec.overdue });
      row.assignee = rec.assignee ? { id: rec.assignee, name: await staffName(rec.assignee) } : null;
      const svc = cat.serviceById.get(rec.service);
      if (svc) row.service = { code: svc.code, name: nameOf(svc, L) };
      patchRow(row);
    } else if (e.action !== 'delete' && matchesTab(rec) && !st.fresh.has(rec.id)) {
      st.fresh.add(rec.id);
      banner.hidden = false;
      banner.replaceChildren(h('span', {}, t('queue.new', { n: st.fresh.size })),
        h('button', { type: 'button', class: 'secondary', id: 'new-show', onclick: () => load(false) }, t('queue.showNew')));
    }
    if (st.file && st.id === rec.id) st.file.changedElsewhere(rec);
    loadCounts();
  }
  async function subscribe() {
    try {
      await pb.collection('requests').subscribe('*', (e) => { onEvent(e).catch((err) => console.error(err)); });
      await pb.realtime.subscribe('PB_CONNECT', () => {
        st.connects += 1;
        liveState.textContent = t('live.on');
        if (st.connects > 1) { load(false); loadCounts(true); announce(t('live.refetched')); }
      });
      pb.realtime.onDisconnect = () => { if (!st.destroyed) liveState.textContent = t('live.off'); };
    } catch (err) {
      liveState.textContent = `${t('live.off')} ${errorText(err)}`;
    }
  }

  // --- the request file beside the list ---
  async function openFile(id, { focus = true } = {}) {
    st.id = id;
    for (const row of st.rows) if (row.tr) markCurrent(row);
    if (!id) {
      st.file?.destroy?.();
      st.file = null;
      fileBox.hidden = true;
      work.classList.remove('open');
      return;
    }
    st.cursor = st.rows.findIndex((x) => x.id === id);
    work.classList.add('open');
    fileBox.hidden = false;
    const mod = await import('./file.js');
    st.file?.destroy?.();
    st.file = await mod.openFile(fileBox, id, {
      ...ctx, focus, colleagues: st.colleagues, catalogue: cat,
      close: () => { ctx.go(`#/queue/${st.tab}`); },
      saved: () => openNext(),
    });
  }
  function openNext() {
    const i = st.rows.findIndex((x) => x.id === st.id);
    const nextRow = st.rows.slice(i + 1).find((r) => !r.tr?.classList.contains('gone'));
    if (nextRow) {
      announce(t('file.openedNext', { number: nextRow.number }));
      ctx.go(`#/queue/${st.tab}/${nextRow.id}`);
    } else {
      announce(t('file.endOfList'));
      ctx.go(`#/queue/${st.tab}`);
    }
  }
  function moveCursor(d) {
    if (!st.rows.length) return;
    let i = st.cursor < 0 ? (d > 0 ? 0 : st.rows.length - 1) : st.cursor + d;
    i = Math.max(0, Math.min(st.rows.length - 1, i));
    st.cursor = i;
    const row = st.rows[i];
    ctx.go(`#/queue/${st.tab}/${row.id}`);
  }

  // --- layout ---
  const table = h('table', { class: 'queue-table' },
    h('caption', { class: 'sr-only' }, t('queue.caption', { tab: t(`tab.${st.tab}`) })),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, selAll),
      h('th', { scope: 'col' }, t('col.number')), h('th', { scope: 'col', class: 'wide' }, t('col.service')), h('th', { scope: 'col' }, t('col.status')),
      h('th', { scope: 'col' }, t('col.due')), h('th', { scope: 'col' }, t('col.assignee')), h('th', { scope: 'col', class: 'wide' }, t('col.priority')))),
    tbody);
  const listSide = h('div', { class: 'list-side' },
    h('div', { class: 'toolbar' }, searchForm, h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', id: 'help-open', 'aria-keyshortcuts': '?', onclick: showHelp }, t('keys.helpButton')),
      h('button', { type: 'button', class: 'secondary', id: 'export-csv', onclick: exportCSV }, t('queue.export')))),
    details, liveState, banner, bulkBox, h('div', { class: 'table-wrap' }, table), status, more);
  work.append(listSide, fileBox);
  main.replaceChildren(h('h1', { tabindex: '-1' }, t('queue.title')), countsList, tabsNav, work);

  async function exportCSV() {
    const { download } = await import('../api.js');
    const q = new URLSearchParams(query(null));
    q.delete('limit');
    try { await download(`/api/staff/export.csv?${q}`, `requests-${st.tab}.csv`); } catch (err) { status.textContent = errorText(err); }
  }

  renderTabs();
  pb.collection('staff').getFullList({ fields: 'id,name,departments,role', batch: 500 }).then((list) => {
    const mine = new Set(me().departments || []);
    st.colleagues = list.filter((s) => me().role === 'supervisor' || (s.departments || []).some((d) => mine.has(d)));
    rememberStaff(list);
    const a = document.getElementById('f-assignee');
    for (const c of st.colleagues) if (c.id !== me().id) a.append(h('option', { value: c.id, selected: prefs.filters.assignee === c.id }, c.name));
  }).catch(() => {});
  await Promise.all([load(false), loadCounts(true)]);
  subscribe();
  if (st.id) await openFile(st.id, { focus: true });

  const clock = setInterval(() => { for (const row of st.rows) { const c = cell(row, 'due'); if (c) c.replaceChildren(rowCells(row).due); } }, 60000);

  return {
    keepFocus: !!st.id,
    async update(p) {
      if (p.tab !== st.tab) { ctx.rerender(); return; }
      if (p.id !== st.id) await openFile(p.id, { focus: true });
    },
    shortcut(action) {
      switch (action) {
        case 'next': moveCursor(1); return true;
        case 'prev': moveCursor(-1); return true;
        case 'open': if (st.cursor >= 0) { ctx.go(`#/queue/${st.tab}/${st.rows[st.cursor].id}`); return true; } return false;
        case 'close': if (st.id) { const id = st.id; ctx.go(`#/queue/${st.tab}`); setTimeout(() => tbody.querySelector(`a[data-id="${id}"]`)?.focus(), 50); return true; } return false;
        case 'search': search.focus(); search.select(); return true;
        case 'select': {
          const row = st.rows[st.cursor];
          if (!row) return false;
          const b = row.tr.querySelector('.row-select');
          b.checked = !b.checked;
          b.dispatchEvent(new Event('change'));
          return true;
        }
        default: return st.file?.shortcut?.(action) || false;
      }
    },
    destroy() {
      st.destroyed = true;
      clearInterval(clock);
      clearTimeout(st.countsTimer);
      st.file?.destroy?.();
      pb.realtime.onDisconnect = null;
      pb.collection('requests').unsubscribe('*').catch(() => {});
      pb.realtime.unsubscribe('PB_CONNECT').catch(() => {});
    },
  };
}
