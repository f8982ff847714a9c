// My requests: the list and one request's detail (timeline, status, notes,
// comment, cancel). Everything here reads IndexedDB, so it works offline.
import { h, announce } from '../dom.js';
import { t, loc, fmtDate, fmtMoney } from '../i18n.js';
import { get, getAll, del } from '../db.js';
import { pending, addComment, cancelRequest } from '../sync.js';
import { request } from '../api.js';
import { app, navigate } from '../main.js';
import { conversation, REFUSALS } from './conversation.js';
import { receiptCard, releaseURLs } from './receipts.js';
import { counted, tooLong } from '../counter.js';

const STATUSES = ['received', 'in_progress', 'waiting_citizen', 'resolved', 'rejected', 'cancelled'];
const COMMENT_MAX = 2000;
const comments = new Map(); // requestId -> unsent draft text (survives re-renders)
let objectURLs = []; // photo previews of the last render, revoked on the next

/** statusText names a status in the shown language. */
export function statusText(s) {
  return STATUSES.includes(s) ? t(`status.${s}`) : s;
}

/** serviceOf finds a request's service in the catalogue (by code or record id). */
export function serviceOf(row) {
  const list = (app.catalog && app.catalog.services) || [];
  return list.find((s) => s.code === row.service || (s.id && s.id === row.service) || s.code === row.serviceCode) || null;
}

/** serviceName gives the request's service name (catalogue, then stored name). */
export function serviceName(row) {
  const s = serviceOf(row);
  return (s && s.name) || row.serviceName || row.serviceCode || row.service || '';
}

function badge(row, pend) {
  if (row._rejected) return h('span', { class: 'badge failed' }, t('req.rejectedBadge'));
  if (row._local) return h('span', { class: 'badge pending' }, t('req.waiting'));
  // "waiting for you" is the one status that asks the citizen to act: marked, not only coloured
  const b = h('span', { class: `badge ${row.status}` }, row.status === 'waiting_citizen' ? h('span', { 'aria-hidden': 'true' }, '! ') : null, statusText(row.status));
  if (pend && (pend.mutations.length || pend.photos)) return [b, ' ', h('span', { class: 'badge pending' }, t('req.changesWaiting'))];
  return b;
}

const byNewest = (a, b) => String(b.created || '').localeCompare(String(a.created || ''));

/** listView lists the citizen's requests, newest first. */
export async function listView() {
  const [rows, pend] = await Promise.all([getAll('requests'), pending()]);
  rows.sort(byNewest);
  const section = h('section', {}, h('h1', {}, t('req.title')));
  if (!rows.length) {
    section.append(h('p', {}, t('req.empty')), h('p', {}, h('a', { href: '/new', class: 'button' }, t('nav.new'))));
    return section;
  }
  section.append(h('ul', { class: 'cards', id: 'request-list' }, rows.map((r) => h('li', {},
    h('a', { class: 'card', href: `/requests/${r.id}` },
      h('span', { class: 'card-title' }, serviceName(r)),
      h('span', {}, r.number ? `${t('req.number')} ${r.number}` : t('req.pendingNumber')), ' · ',
      badge(r, pend.byRequest.get(r.id)), ' · ',
      h('span', { class: 'muted' }, fmtDate(r.created)))))));
  return section;
}

function answerText(f, v) {
  if (v === undefined || v === null || v === '') return '';
  const name = (k) => { const o = (f.values || []).find((x) => x.key === k); return o ? loc(o.name) : String(k); };
  switch (f.datatype) {
    case 'boolean': return v === true || v === 'true' ? t('file.yes') : t('file.no');
    case 'singlevaluelist': return name(v);
    case 'multivaluelist': return (Array.isArray(v) ? v : [v]).map(name).join(', ');
    case 'datetime': return fmtDate(v);
    default: return String(v);
  }
}

function eventText(ev) {
  switch (ev.type) {
    case 'created': return t('ev.created');
    case 'status': return t('ev.status', { status: statusText(ev.to_status) });
    case 'comment': return t('ev.comment');
    case 'assignment': return t('ev.assignment');
    case 'photo': return t('ev.photo');
    case 'payment': return t('ev.payment');
    case 'refund': return t('ev.refund');
    case 'fee': return t('ev.fee'); // payments: assessed, waived, expired, reversed
    case 'edit': return t('ev.edit');
    case 'not_fixed': return t('ev.not_fixed');
    case 'rating': return t('ev.rating');
    default: return ev.type;
  }
}

// Request photos are protected files: their URLs need a short-lived file token.
let fileToken = { value: '', until: 0 };
async function token() {
  if (Date.now() < fileToken.until) return fileToken.value;
  const r = await request('POST', '/api/files/token');
  fileToken = { value: r.data.token, until: Date.now() + 60_000 };
  return fileToken.value;
}

async function serverPhotos(row) {
  const list = (Array.isArray(row.photos) ? row.photos : []).filter((x) => x && (x.thumb || x.url));
  if (!list.length || !navigator.onLine) return { list, tok: '' };
  try { return { list, tok: await token() }; } catch { return { list, tok: '' }; }
}

/** detailView shows one request. */
export async function detailView(id) {
  const row = await get('requests', id);
  if (!row) {
    return h('section', {}, h('h1', {}, t('req.notFoundTitle')), h('p', {}, t('req.notFound')), h('p', {}, h('a', { href: '/requests' }, t('req.back'))));
  }
  const [events, receipts, pend, atts, rejections] = await Promise.all([
    getAll('events', 'request', id), getAll('receipts', 'request', id), pending(), getAll('attachments', 'request', id), get('meta', 'rejections'),
  ]);
  const mine = pend.byRequest.get(id) || { mutations: [], photos: 0, failedPhotos: [] };
  const svc = serviceOf(row);
  const flash = app.flash;
  app.flash = null;
  const cancelPending = mine.mutations.some((m) => m.name === 'request.cancel');
  const justSent = new URLSearchParams(location.search).has('sent');

  const facts = h('dl', { class: 'facts' },
    h('dt', {}, t('req.number')), h('dd', { id: 'request-number' }, row.number || t('req.pendingNumber')),
    h('dt', {}, t('req.status')), h('dd', { id: 'request-status' }, badge(row, mine)),
    // when it was filed on the phone (its clock) and when it reached the city (the receipt certifies this one)
    h('dt', {}, t('req.filedDevice')), h('dd', { id: 'request-filed' }, fmtDate(row._local ? row.created : (row.reported_at || row.created))),
    h('dt', {}, t('req.arrived')), h('dd', { id: 'request-arrived' }, row._local ? t('req.notArrived') : fmtDate(row.created)),
    row.address ? [h('dt', {}, t('file.address')), h('dd', {}, row.address)] : null,
    row.location && (row.location.lat || row.location.lon) ? [h('dt', {}, t('file.location')), h('dd', {}, `${Number(row.location.lat).toFixed(5)}, ${Number(row.location.lon).toFixed(5)} `,
      h('button', { type: 'button', class: 'linkish', id: 'show-map', onclick: async (e) => {
        const box = h('div', { class: 'map', id: 'request-map' });
        e.target.replaceWith(box);
        try { await (await import('../map.js')).pointsMap(box, [{ lat: Number(row.location.lat), lon: Number(row.location.lon) }], { label: t('map.requestLabel', { lat: Number(row.location.lat).toFixed(5), lon: Number(row.location.lon).toFixed(5) }) }); } catch { box.replaceWith(h('p', { class: 'note warn' }, t('map.failed'))); }
      } }, t('map.show')))] : null,
    row.fee ? [h('dt', {}, t('req.fee')), h('dd', {}, fmtMoney(row.fee, row.currency))] : null,
    // payments: the Pay view (amount, payment code, account and reference, offline)
    row.fee || (svc && svc.feeMode && svc.feeMode !== 'none') ? [h('dt', {}, t('pay.title')), h('dd', {}, h('a', { href: `/requests/${encodeURIComponent(id)}/pay`, id: 'pay-link' }, t('pay.open')))] : null,
    row.status_note ? [h('dt', {}, t('req.note')), h('dd', {}, row.status_note)] : null);

  const answers = [];
  for (const f of (svc && svc.fields) || []) {
    const text = answerText(f, (row.answers || {})[f.code]);
    if (text) answers.push(h('dt', {}, loc(f.label) || f.code), h('dd', {}, text));
  }
  if (row.description) answers.push(h('dt', {}, t('file.description')), h('dd', {}, row.description));

  const notices = [];
  if (flash) notices.push(h('p', { class: 'note ok', role: 'status' }, flash));
  if (justSent && !row._rejected) {
    // the "sent" step after filing: says plainly whether it reached the city yet
    const sent = !row._local && !mine.mutations.length && !mine.photos;
    notices.push(h('section', { class: `sent-step ${sent ? 'ok' : 'warn'}`, id: 'sent-step', 'aria-labelledby': 'sent-title' },
      h('h2', { id: 'sent-title' }, t(sent ? 'sent.title.sent' : 'sent.title.waiting')),
      h('p', {}, sent ? t('sent.sentBody', { number: row.number }) : t('sent.waitingBody')),
      h('p', {}, h('a', { href: '/new' }, t('sent.another')))));
  }
  if (row._rejected) {
    notices.push(h('div', { class: 'note bad' },
      h('p', {}, t('req.notAccepted', { reason: row._rejected.message || row._rejected.code || '' })),
      h('button', { type: 'button', class: 'secondary', id: 'discard-request', onclick: async () => {
        await del('requests', id);
        announce(t('req.discarded'));
        navigate('/requests', { replace: true });
      } }, t('req.discard'))));
  }
  else if (row._local) notices.push(h('p', { class: 'note warn' }, t('req.waitingLong')));
  if (mine.photos) notices.push(h('p', { class: 'note warn' }, t('req.photosPending', { n: mine.photos })));
  for (const f of mine.failedPhotos) notices.push(h('p', { class: 'note bad' }, t('req.photoRefused', { reason: f.message || f.status })));
  if (cancelPending) notices.push(h('p', { class: 'note warn' }, t('req.cancelling')));
  for (const r of (rejections || []).filter((x) => x.requestId === id)) {
    notices.push(h('p', { class: 'note bad' }, t(r.name === 'request.cancel' ? 'req.cancelRefused' : (REFUSALS[r.name] || 'req.commentRefused'), { reason: (r.error && r.error.message) || '' })));
  }

  for (const u of objectURLs) URL.revokeObjectURL(u);
  objectURLs = atts.filter((a) => a.data && !a.sentAt).map((a) => URL.createObjectURL(new Blob([a.data], { type: a.type })));
  const localPhotos = objectURLs.map((u, i) => h('li', {}, h('img', { src: u, alt: t('file.photoAlt', { i: i + 1 }) })));
  const sp = await serverPhotos(row);
  const remote = sp.tok
    ? sp.list.map((ph, i) => h('li', {}, h('img', { src: `${ph.thumb || ph.url}${(ph.thumb || ph.url).includes('?') ? '&' : '?'}token=${encodeURIComponent(sp.tok)}`, alt: t('file.photoAlt', { i: i + 1 }), loading: 'lazy' })))
    : [];
  const remoteNote = sp.list.length && !sp.tok ? h('p', { class: 'muted' }, t('req.photosOnline', { n: sp.list.length })) : null;

  // by time; "created" first when the times are equal or missing
  events.sort((a, b) => String(a.created || '').localeCompare(String(b.created || '')) || (a.type === 'created' ? -1 : 0) - (b.type === 'created' ? -1 : 0));
  const timeline = events.map((ev) => h('li', {},
    h('strong', {}, eventText(ev)), ' ', h('span', { class: 'muted' }, fmtDate(ev.created)),
    ev.author_type || ev.mine !== undefined ? h('span', { class: 'muted' }, ` · ${t(ev.mine || ev.author_type === 'citizen' ? 'ev.you' : 'ev.city')}`) : null,
    ev.message && (ev.type === 'comment' || ev.type === 'status' || ev.type === 'fee' || ev.type === 'not_fixed') ? h('p', {}, ev.message) : null));
  for (const m of mine.mutations.filter((x) => x.name === 'request.comment' || x.name === 'request.notFixed')) {
    timeline.push(h('li', {}, h('strong', {}, t(m.name === 'request.notFixed' ? 'ev.not_fixed' : 'ev.comment')), ' ', h('span', { class: 'badge pending' }, t('req.waiting')), h('p', {}, m.args.message)));
  }

  const closed = ['resolved', 'rejected', 'cancelled'].includes(row.status);
  const conv = conversation(row, svc, events, mine);
  let commentForm = null;
  // while the city waits for the citizen, the reply form above replaces the comment form
  if (!row._local && !closed && row.status !== 'waiting_citizen') {
    const ta = h('textarea', { id: 'comment', 'aria-describedby': 'comment-err', oninput: (e) => comments.set(id, e.target.value) }, comments.get(id) || '');
    const err = h('p', { class: 'err', id: 'comment-err' });
    commentForm = h('form', { novalidate: true, id: 'comment-form' },
      h('h2', {}, h('label', { for: 'comment' }, t('req.comment'))), ta, counted(ta, COMMENT_MAX, t('req.comment')), err,
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('req.commentSend'))));
    commentForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      const msg = ta.value.trim();
      if (!msg) { err.textContent = t('err.required', { field: t('req.comment') }); ta.setAttribute('aria-invalid', 'true'); ta.focus(); announce(err.textContent); return; }
      if (tooLong(msg, COMMENT_MAX)) { err.textContent = t('err.maxLength', { field: t('req.comment'), max: COMMENT_MAX }); ta.setAttribute('aria-invalid', 'true'); ta.focus(); announce(err.textContent); return; }
      comments.delete(id);
      await addComment(id, msg);
      announce(t('req.commentQueued'));
    });
  }
  let cancel = null;
  if (row.status === 'received' && !row._local && !cancelPending) {
    cancel = h('button', { type: 'button', class: 'danger', id: 'cancel-request', onclick: async () => {
      if (!confirm(t('req.cancelConfirm'))) return;
      await cancelRequest(id);
      announce(t('req.cancelling'));
    } }, t('req.cancel'));
  }

  releaseURLs();
  const cards = [];
  receipts.sort((a, b) => String(a.issued_at || '').localeCompare(String(b.issued_at || '')));
  for (const r of receipts) cards.push(await receiptCard(r, row, { heading: 'h3', link: false }));

  return h('section', {},
    h('p', {}, h('a', { href: '/requests' }, t('req.back'))),
    h('h1', {}, serviceName(row)),
    notices, conv.top, facts,
    answers.length ? [h('h2', {}, t('req.answers')), h('dl', { class: 'facts' }, answers)] : null,
    localPhotos.length || sp.list.length ? [h('h2', {}, t('file.photos')), remoteNote, h('ul', { class: 'thumbs', id: 'request-photos' }, remote, localPhotos)] : null,
    cards.length ? [h('h2', {}, t('rc.title')), h('ul', { class: 'cards', id: 'request-receipts' }, cards)] : null,
    conv.actions,
    h('h2', {}, t('req.timeline')),
    timeline.length ? h('ol', { class: 'timeline' }, timeline) : h('p', { class: 'muted' }, t('req.noEvents')),
    commentForm, cancel ? h('div', { class: 'actions' }, cancel) : null);
}
