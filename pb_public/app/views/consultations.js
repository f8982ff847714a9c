// Consultations (issue 16, docs/consultations.md): the list (open, upcoming,
// with results), one question per screen, a review page with an explicit
// Send, the ballot's state ("waiting to send" offline, "counted" with its
// receipt) and the published results as a chart with the same figures in a
// table. Ballots travel through the sync outbox (ballot.cast); the choice is
// kept only on this device.
import { h, announce } from '../dom.js';
import { t, lang, fmtDate } from '../i18n.js';
import { get, put, shared } from '../db.js';
import { request } from '../api.js';
import { castBallot, kick } from '../sync.js';
import { navigate } from '../main.js';

const LIST = '/api/collections/consultations/records?sort=closes_at&perPage=100&skipTotal=1';

const tx = (m) => (m && (m[lang()] || m.en || Object.values(m)[0])) || '';
const advisory = () => h('p', { class: 'note advisory', role: 'note' }, t('cons.advisory'));
// times are shown in the consultation's zone (named), whatever the phone's zone is
const when = (c, field) => {
  const d = new Date(String(c[field]).replace(' ', 'T'));
  if (Number.isNaN(d.getTime())) return '';
  const opts = { dateStyle: 'medium', timeStyle: 'short' };
  try { return `${new Intl.DateTimeFormat(lang(), { ...opts, timeZone: c.time_zone }).format(d)} (${c.time_zone})`; } catch { return fmtDate(c[field]); }
};

/** phase mirrors the server's: the clock decides between scheduled, open and closed. */
function phase(c, now = Date.now()) {
  if (c.status === 'published' || c.status === 'draft') return c.status;
  if (now < Date.parse(c.opens_at.replace(' ', 'T'))) return 'scheduled';
  if (now < Date.parse(c.closes_at.replace(' ', 'T'))) return 'open';
  return 'closed';
}

async function loadList() {
  try {
    const { data } = await request('GET', LIST);
    await shared.put('meta', data.items || [], 'consultations');
    return data.items || [];
  } catch {
    return (await shared.get('meta', 'consultations')) || [];
  }
}

async function loadOne(id) {
  try {
    const { data } = await request('GET', `/api/collections/consultations/records/${encodeURIComponent(id)}`);
    const list = ((await shared.get('meta', 'consultations')) || []).filter((c) => c.id !== id);
    list.push(data);
    await shared.put('meta', list, 'consultations');
    return data;
  } catch {
    return ((await shared.get('meta', 'consultations')) || []).find((c) => c.id === id) || null;
  }
}

/** ballotState combines the local ballot, the sync acknowledgement and the server's receipt. */
async function ballotState(id) {
  const local = await get('meta', `ballot:${id}`);
  const acked = (await get('meta', 'lastMutationID')) || 0;
  const rejections = (await get('meta', 'rejections')) || [];
  let info = await get('meta', `ballotinfo:${id}`);
  if (navigator.onLine) {
    try {
      info = (await request('GET', `/api/consultations/${encodeURIComponent(id)}/ballot`)).data;
      await put('meta', info, `ballotinfo:${id}`);
    } catch { /* offline or signed out: keep the cached answer */ }
  }
  const rejected = local && rejections.find((r) => r.mutation === local.mutation);
  let state = 'none';
  if (local && rejected) state = 'rejected';
  else if (local && local.mutation > acked) state = 'waiting';
  else if ((info && info.version > 0) || local) state = 'counted';
  return { local, info: info || { version: 0 }, state, error: rejected && rejected.error };
}

/** consultationsView lists open, upcoming and published consultations. */
export async function consultationsView() {
  const list = (await loadList()).filter((c) => c.status !== 'draft');
  const groups = { open: [], scheduled: [], published: [], closed: [] };
  for (const c of list) groups[phase(c)]?.push(c);
  const section = h('section', {}, h('h1', {}, t('cons.title')), advisory());
  for (const [key, label] of [['open', 'cons.open'], ['scheduled', 'cons.upcoming'], ['published', 'cons.withResults'], ['closed', 'cons.closedWaiting']]) {
    if (!groups[key].length) continue;
    section.append(h('h2', {}, t(label)), h('ul', { class: 'cards' }, groups[key].map((c) => h('li', {},
      h('a', { href: key === 'published' ? `/consultations/${c.id}/results` : `/consultations/${c.id}` }, tx(c.title)),
      h('p', { class: 'hint' }, key === 'scheduled' ? t('cons.opensAt', { when: when(c, 'opens_at') }) : t('cons.closesAt', { when: when(c, 'closes_at') }))))));
  }
  if (!list.length) section.append(h('p', {}, t('cons.none')));
  return section;
}

/** consultationView shows one consultation and the citizen's ballot state. */
export async function consultationView(id) {
  const c = await loadOne(id);
  if (!c) return h('section', {}, h('h1', {}, t('cons.title')), h('p', {}, t('cons.notFound')));
  const ph = phase(c);
  const st = await ballotState(id);
  const section = h('section', {}, h('h1', {}, tx(c.title)), advisory());
  if (c.description) section.append(h('p', {}, tx(c.description)));
  section.append(h('dl', { class: 'facts' },
    h('dt', {}, t('cons.opens')), h('dd', {}, when(c, 'opens_at')),
    h('dt', {}, t('cons.closes')), h('dd', {}, when(c, 'closes_at')),
    h('dt', {}, t('cons.questions')), h('dd', {}, String((c.questions || []).length))));
  if (c.late_policy === 'grace') section.append(h('p', { class: 'hint' }, t('cons.grace', { n: c.grace_minutes })));
  section.append(statusBox(c, st));
  if (ph === 'open') {
    section.append(h('p', {}, h('a', { class: 'button', href: `/consultations/${id}/q/1` }, t(st.state === 'none' ? 'cons.start' : 'cons.change'))));
  } else if (ph === 'published') {
    section.append(h('p', {}, h('a', { class: 'button', href: `/consultations/${id}/results` }, t('cons.seeResults'))));
  } else {
    section.append(h('p', {}, t(ph === 'scheduled' ? 'cons.notOpenYet' : 'cons.closedNow')));
  }
  return section;
}

function statusBox(c, st) {
  const box = h('div', { class: 'ballot-status', role: 'status', 'data-state': st.state });
  if (st.state === 'waiting') {
    box.append(h('p', { class: 'note warn' }, t('cons.waiting')));
  } else if (st.state === 'counted') {
    box.append(h('p', { class: 'note ok' }, t('cons.counted', { n: st.info.version || (st.local ? (st.local.baseVersion || 0) + 1 : 1) })));
    if (st.info.receipt) {
      box.append(h('p', {}, t('cons.receipt')), h('p', {}, h('code', { class: 'receipt-code' }, st.info.receipt.code)),
        h('p', {}, h('a', { href: `/verify/#code=${encodeURIComponent(st.info.receipt.code)}` }, t('rc.verify'))));
    }
  } else if (st.state === 'rejected') {
    const code = st.error && st.error.code;
    box.append(h('p', { class: 'note error' }, code === 'ballot_conflict' ? t('cons.conflict') : t('cons.rejected', { message: (st.error && st.error.message) || '' })));
    if (code === 'ballot_conflict' && st.local && phase(c) === 'open') {
      box.append(h('button', {
        type: 'button',
        onclick: async () => {
          await castBallot(c.id, st.info.version || 0, st.local.answers);
          announce(t('cons.queued'));
          navigate(`/consultations/${c.id}`, { replace: true });
        },
      }, t('cons.resend')));
    }
  }
  return box;
}

async function draftOf(id) {
  const d = await get('meta', `draft:${id}`);
  if (d) return d;
  const local = await get('meta', `ballot:${id}`);
  return (local && JSON.parse(JSON.stringify(local.answers))) || {};
}

/** questionView shows question n (1-based) of a consultation. */
export async function questionView(id, n) {
  const c = await loadOne(id);
  const qs = (c && c.questions) || [];
  const q = qs[n - 1];
  if (!c || !q) return h('section', {}, h('h1', {}, t('cons.title')), h('p', {}, t('cons.notFound')));
  const draft = await draftOf(id);
  const ans = draft[q.id] || {};
  const form = h('form', { class: 'question', novalidate: true });
  const legend = h('legend', {}, tx(q.title));
  const fs = h('fieldset', {}, legend);
  if (q.description) fs.append(h('p', { class: 'hint' }, tx(q.description)));
  const name = `q-${q.id}`;
  const chosen = new Set(ans.options || []);
  if (q.kind === 'single' || q.kind === 'multiple') {
    const type = q.kind === 'single' ? 'radio' : 'checkbox';
    if (q.kind === 'multiple') fs.append(h('p', { class: 'hint' }, t('cons.chooseRange', { min: q.min || 0, max: q.max || q.options.length })));
    for (const o of q.options) {
      const inputId = `${name}-${o.id}`;
      fs.append(h('div', { class: 'choice' }, h('input', { type, id: inputId, name, value: o.id, checked: chosen.has(o.id) }), h('label', { for: inputId }, tx(o.label))));
    }
    if (q.other) {
      const otherId = `${name}-other`;
      if (q.kind === 'single') fs.append(h('div', { class: 'choice' }, h('input', { type, id: `${otherId}-pick`, name, value: '__other', checked: !!ans.other }), h('label', { for: `${otherId}-pick` }, t('cons.other'))));
      fs.append(h('label', { for: otherId }, t('cons.otherText')), h('input', { type: 'text', id: otherId, maxlength: 200, value: ans.other || '' }));
    }
  } else if (q.kind === 'ranking') {
    const k = q.topK || q.options.length;
    fs.append(h('p', { class: 'hint' }, t('cons.rankHint', { n: k })));
    const order = (ans.options && ans.options.length ? ans.options : []).concat(q.options.map((o) => o.id).filter((o) => !(ans.options || []).includes(o)));
    const list = h('ol', { class: 'ranking', id: `${name}-list` });
    const label = (oid) => tx((q.options.find((o) => o.id === oid) || {}).label);
    const draw = (focus) => {
      list.replaceChildren(...order.map((oid, i) => h('li', { 'data-id': oid },
        h('span', {}, label(oid)),
        h('button', { type: 'button', id: `${name}-up-${oid}`, disabled: i === 0, 'aria-label': t('cons.moveUp', { item: label(oid) }), onclick: () => move(i, -1, `${name}-up-${oid}`) }, '↑'),
        h('button', { type: 'button', id: `${name}-down-${oid}`, disabled: i === order.length - 1, 'aria-label': t('cons.moveDown', { item: label(oid) }), onclick: () => move(i, 1, `${name}-down-${oid}`) }, '↓'))));
      if (focus) { const el = document.getElementById(focus); if (el && !el.disabled) el.focus(); }
    };
    const move = (i, d, focus) => {
      [order[i], order[i + d]] = [order[i + d], order[i]];
      draw(focus);
      announce(t('cons.moved', { item: label(order[i + d]), pos: i + d + 1 }));
    };
    draw();
    fs.append(list);
    form.dataset.ranking = '1';
    form.rankOrder = () => order.slice(0, k);
  } else {
    const max = q.maxLength || 1000;
    fs.append(h('label', { for: `${name}-text` }, t('cons.yourAnswer')), h('textarea', { id: `${name}-text`, maxlength: max, rows: 5 }, ans.text || ''),
      h('p', { class: 'hint' }, t('cons.maxChars', { n: max })));
  }
  const error = h('p', { class: 'note error', id: `${name}-error`, role: 'alert', hidden: true });
  form.append(fs, error);
  const collect = () => {
    if (q.kind === 'single' || q.kind === 'multiple') {
      const picked = [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
      const otherBox = form.querySelector(`#${name}-other`);
      const other = otherBox ? otherBox.value.trim() : '';
      const options = picked.filter((v) => v !== '__other');
      if (q.kind === 'single' && picked.includes('__other')) return other ? { other } : {};
      return other && q.kind === 'multiple' ? { options, other } : { options };
    }
    if (q.kind === 'ranking') return { options: form.rankOrder() };
    return { text: form.querySelector('textarea').value };
  };
  const check = (a) => {
    const n2 = (a.options || []).length + (a.other ? 1 : 0);
    const blank = n2 === 0 && !(a.text || '').trim();
    if (blank) return q.required ? t('cons.required') : '';
    if (q.kind === 'multiple' && ((q.max && n2 > q.max) || n2 < (q.min || 0))) return t('cons.chooseRange', { min: q.min || 0, max: q.max || q.options.length });
    return '';
  };
  const save = async (to) => {
    const a = collect();
    const msg = check(a);
    if (msg) { error.textContent = msg; error.hidden = false; error.focus?.(); announce(msg); return; }
    draft[q.id] = a;
    await put('meta', draft, `draft:${id}`);
    navigate(to);
  };
  const nav = h('div', { class: 'actions' });
  if (n > 1) nav.append(h('button', { type: 'button', onclick: () => save(`/consultations/${id}/q/${n - 1}`) }, t('cons.back')));
  nav.append(h('button', { type: 'submit' }, n < qs.length ? t('cons.next') : t('cons.toReview')));
  form.append(nav);
  form.addEventListener('submit', (e) => { e.preventDefault(); save(n < qs.length ? `/consultations/${id}/q/${n + 1}` : `/consultations/${id}/review`); });
  return h('section', {}, h('h1', {}, tx(c.title)), advisory(), h('p', { class: 'hint' }, t('cons.progress', { i: n, n: qs.length })), form);
}

function answerText(q, a) {
  if (!a) return t('cons.blank');
  const label = (oid) => tx((q.options.find((o) => o.id === oid) || {}).label);
  if (q.kind === 'text') return (a.text || '').trim() || t('cons.blank');
  const parts = (a.options || []).map((o, i) => (q.kind === 'ranking' ? `${i + 1}. ${label(o)}` : label(o)));
  if (a.other) parts.push(`${t('cons.other')}: ${a.other}`);
  return parts.length ? parts.join(q.kind === 'ranking' ? '; ' : ', ') : t('cons.blank');
}

/** reviewView lists every answer with a link back and an explicit Send. */
export async function reviewView(id) {
  const c = await loadOne(id);
  if (!c) return h('section', {}, h('h1', {}, t('cons.title')), h('p', {}, t('cons.notFound')));
  const draft = await draftOf(id);
  const st = await ballotState(id);
  const dl = h('dl', { class: 'facts review' });
  (c.questions || []).forEach((q, i) => dl.append(h('dt', {}, tx(q.title)), h('dd', {}, answerText(q, draft[q.id]), ' ',
    h('a', { href: `/consultations/${id}/q/${i + 1}` }, t('cons.edit')))));
  const send = h('button', {
    type: 'button', class: 'primary',
    onclick: async () => {
      send.disabled = true;
      // a ballot still queued here will become baseVersion + 1: build on it, not on the older server version
      const localNext = st.local && st.state !== 'rejected' ? (st.local.baseVersion || 0) + 1 : 0;
      const base = Math.max(st.info.version || 0, localNext);
      await castBallot(id, base, draft);
      await put('meta', null, `draft:${id}`);
      announce(t('cons.queued'));
      kick('ballot');
      navigate(`/consultations/${id}`, { replace: true });
    },
  }, t('cons.send'));
  return h('section', {}, h('h1', {}, t('cons.review')), advisory(), h('p', {}, tx(c.title)), dl,
    h('p', { class: 'hint' }, t('cons.sendHint')), h('div', { class: 'actions' }, send));
}

/** resultsView shows published results: a bar chart and the same figures in a table. */
export async function resultsView(id) {
  const c = await loadOne(id);
  const section = h('section', {}, h('h1', {}, c ? tx(c.title) : t('cons.title')), advisory());
  const r = c && c.results;
  if (!c || c.status !== 'published' || !r || !r.questions) { section.append(h('p', {}, t('cons.noResults'))); return section; }
  section.append(h('p', {}, t('cons.total', { n: r.totalBallots })));
  if (r.lateBallots) section.append(h('p', { class: 'hint' }, t('cons.late', { n: r.lateBallots })));
  const pct = (x) => new Intl.NumberFormat(lang(), { style: 'percent', maximumFractionDigits: 1 }).format(x || 0);
  for (const qr of r.questions) {
    const q = (c.questions || []).find((x) => x.id === qr.id);
    if (!q) continue;
    const label = (oid) => tx((q.options.find((o) => o.id === oid) || {}).label);
    const sec = h('section', { class: 'result' }, h('h2', {}, tx(q.title)));
    if (q.kind === 'text') {
      sec.append(h('p', {}, t('cons.textAnswered', { n: qr.answered, blank: qr.blank })));
      section.append(sec);
      continue;
    }
    const rows = qr.options.map((o) => ({ id: o.id, name: label(o.id), value: q.kind === 'ranking' ? o.borda : o.count, o }));
    if (qr.other !== undefined) rows.push({ id: 'other', name: t('cons.other'), value: qr.other, o: { count: qr.other, share: qr.otherShare } });
    const max = Math.max(1, ...rows.map((x) => x.value));
    const chart = h('div', { class: 'chart', 'aria-hidden': 'true' }, rows.map((x) => {
      const bar = h('span', { class: 'bar' });
      bar.style.width = `${(100 * x.value) / max}%`;
      return h('div', { class: 'chart-row' }, h('span', { class: 'chart-label' }, x.name), h('span', { class: 'chart-track' }, bar), h('span', { class: 'chart-value' }, String(x.value)));
    }));
    const head = q.kind === 'ranking'
      ? [t('cons.option'), t('cons.rank'), t('cons.borda'), t('cons.first'), t('cons.firstShare')]
      : [t('cons.option'), t('cons.count'), t('cons.share')];
    const body = rows.map((x) => h('tr', {}, h('th', { scope: 'row' }, x.name),
      ...(q.kind === 'ranking'
        ? [String(x.o.rank), String(x.o.borda), String(x.o.firstPreferences), pct(x.o.firstShare)]
        : [String(x.o.count), pct(x.o.share)]).map((v) => h('td', {}, v))));
    body.push(h('tr', {}, h('th', { scope: 'row' }, t('cons.blank')), h('td', {}, String(qr.blank)), ...(q.kind === 'ranking' ? ['', '', ''] : [pct(qr.blank / (r.totalBallots || 1))]).map((v) => h('td', {}, v))));
    sec.append(chart, h('table', {}, h('caption', {}, q.kind === 'ranking' ? t('cons.bordaCaption') : t('cons.tableCaption')),
      h('thead', {}, h('tr', {}, head.map((x) => h('th', { scope: 'col' }, x)))), h('tbody', {}, body)));
    section.append(sec);
  }
  section.append(h('p', {}, h('a', { href: `/api/consultations/${id}/results.csv`, download: true }, t('cons.csv')), ' · ',
    h('a', { href: `/api/consultations/${id}/results.json`, download: true }, t('cons.json'))));
  return section;
}
