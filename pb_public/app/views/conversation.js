// The citizen's side of the conversation on a request's page (issue 13):
// the city's question and the reply (text and photos, queued offline), edits
// while the request is still "received", "not fixed" within the service's
// window, and the outcome questionnaire. Drafts live here, keyed by request,
// so the live re-renders of the page (every sync) never lose what is typed.
import { h, announce } from '../dom.js';
import { t, lang, fmtDate } from '../i18n.js';
import { renderField, validateAnswers, toAnswers, fieldId } from '../form.js';
import { MAX_PHOTOS } from '../photos.js';
import { counted, tooLong } from '../counter.js';
import { photoPicker } from '../photopicker.js';
import { replyRequest, editRequest, notFixed, rateRequest } from '../sync.js';

const MESSAGE_MAX = 2000; // request_events.message
const DESC_MAX = 5000;
const ADDRESS_MAX = 300;
const RATE_COMMENT_MAX = 500;
const drafts = new Map(); // `${kind}:${requestId}` -> draft

function draft(kind, id, init) {
  const key = `${kind}:${id}`;
  if (!drafts.has(key)) drafts.set(key, init());
  return drafts.get(key);
}
const drop = (kind, id) => {
  const d = drafts.get(`${kind}:${id}`);
  for (const ph of (d && d.photos) || []) URL.revokeObjectURL(ph.url);
  drafts.delete(`${kind}:${id}`);
};

// a labelled textarea with a counter (never cut) bound to d[key]
function textArea(id, label, d, key, max, hint) {
  const ta = h('textarea', { id, 'aria-describedby': [hint ? `${id}-hint` : '', `${id}-err`].filter(Boolean).join(' '), oninput: (e) => { d[key] = e.target.value; } }, d[key] || '');
  const count = counted(ta, max, label);
  return { ta, node: h('div', {}, h('label', { for: id }, label), hint ? h('span', { class: 'hint', id: `${id}-hint` }, hint) : null, ta, count, h('p', { class: 'err', id: `${id}-err` })) };
}

function fail(node, ta, msg) {
  node.querySelector('.err').textContent = msg;
  ta.setAttribute('aria-invalid', 'true');
  ta.focus();
  announce(msg);
}

const photoRoom = (row) => Math.max(0, MAX_PHOTOS - ((Array.isArray(row.photos) ? row.photos.length : 0) + (row.photoCount || 0)));

/** lastQuestion is the city's latest message with the move to waiting_citizen. */
function lastQuestion(row, events) {
  const asked = events.filter((e) => e.type === 'status' && e.to_status === 'waiting_citizen' && e.message);
  return row.status_note || (asked.length ? asked[asked.length - 1].message : '');
}

function replyBox(row, events, mine) {
  const id = row.id;
  const pendingReply = mine.mutations.some((m) => m.name === 'request.comment');
  const box = h('section', { class: 'ask', id: 'ask', 'aria-labelledby': 'ask-title' },
    h('h2', { id: 'ask-title' }, t('conv.asked')));
  const q = lastQuestion(row, events);
  if (q) box.append(h('p', { class: 'question' }, t('conv.askedNote', { note: q })));
  if (pendingReply) {
    box.append(h('p', { class: 'note warn', id: 'reply-pending' }, t('conv.replyPending')));
    return box;
  }
  const d = draft('reply', id, () => ({ text: '', photos: [] }));
  const { ta, node } = textArea('reply', t('conv.reply'), d, 'text', MESSAGE_MAX, t('conv.replyHint'));
  const room = photoRoom(row);
  const form = h('form', { novalidate: true, id: 'reply-form' }, node,
    room ? photoPicker({ id: 'reply-photos', legend: t('conv.photos'), max: room, photos: d.photos }) : null,
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'reply-send' }, t('conv.replySend'))));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const msg = (d.text || '').trim();
    if (!msg) return fail(node, ta, t('err.required', { field: t('conv.reply') }));
    if (tooLong(msg, MESSAGE_MAX)) return fail(node, ta, t('err.maxLength', { field: t('conv.reply'), max: MESSAGE_MAX }));
    form.querySelector('button[type=submit]').disabled = true;
    await replyRequest(id, msg, d.photos.map(({ data, type, sha256 }) => ({ data, type, sha256 })));
    drop('reply', id);
    announce(t('conv.replyQueued'));
  });
  box.append(form);
  return box;
}

// answers as the controls hold them (form.js works on strings)
function controlValues(fields, answers) {
  const out = {};
  for (const f of fields) {
    const v = (answers || {})[f.code];
    if (v === undefined || v === null) continue;
    if (f.datatype === 'boolean') out[f.code] = v ? 'true' : 'false';
    else if (f.datatype === 'multivaluelist') out[f.code] = Array.isArray(v) ? [...v] : [v];
    else if (f.datatype === 'datetime') out[f.code] = String(v).replace(' ', 'T').slice(0, 16);
    else out[f.code] = String(v);
  }
  return out;
}

function editBox(row, svc, mine) {
  const id = row.id;
  if (mine.mutations.some((m) => m.name === 'request.edit')) return h('p', { class: 'note warn', id: 'edit-pending' }, t('edit.pending'));
  const fields = (svc && svc.fields) || [];
  const d = draft('edit', id, () => ({ values: controlValues(fields, row.answers), description: row.description || '', address: row.address || '', errors: {}, open: false }));
  const desc = textArea('edit-description', t('file.description'), d, 'description', DESC_MAX);
  const summary = h('div', { class: 'summary', tabindex: '-1', id: 'edit-summary', role: 'alert' });
  const addr = h('input', { type: 'text', id: 'edit-address', autocomplete: 'street-address', value: d.address, oninput: (e) => { d.address = e.target.value; } });
  const form = h('form', { novalidate: true, id: 'edit-form' }, summary,
    h('p', {}, t('edit.explain')),
    fields.map((f) => renderField(f, d.values, d.errors)), desc.node,
    svc && svc.location !== 'none' ? h('div', {}, h('label', { for: 'edit-address' }, t('file.address')), addr, counted(addr, ADDRESS_MAX, t('file.address'))) : null,
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'edit-save' }, t('edit.save'))));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const problems = validateAnswers(fields, d.values, lang()).map((x) => ({ id: fieldId(x.code), message: x.message }));
    if (tooLong(d.description, DESC_MAX)) problems.push({ id: 'edit-description', message: t('err.maxLength', { field: t('file.description'), max: DESC_MAX }) });
    if (tooLong(d.address, ADDRESS_MAX)) problems.push({ id: 'edit-address', message: t('err.maxLength', { field: t('file.address'), max: ADDRESS_MAX }) });
    if (svc && svc.location === 'required' && !row.location && !d.address.trim()) problems.push({ id: 'edit-address', message: t('err.locationRequired') });
    if (problems.length) {
      summary.replaceChildren(h('h2', {}, t('err.summary')), h('ul', {}, problems.map((p) => h('li', {}, h('a', { href: `#${p.id}` }, p.message)))));
      summary.focus();
      return;
    }
    const changes = {};
    const answers = toAnswers(fields, d.values);
    if (JSON.stringify(answers) !== JSON.stringify(toAnswers(fields, controlValues(fields, row.answers)))) changes.answers = answers;
    if (d.description.trim() !== (row.description || '')) changes.description = d.description.trim();
    if (d.address.trim() !== (row.address || '')) changes.address = d.address.trim();
    if (!Object.keys(changes).length) { summary.replaceChildren(h('p', {}, t('edit.nothing'))); summary.focus(); return; }
    form.querySelector('button[type=submit]').disabled = true;
    await editRequest(id, changes);
    drop('edit', id);
    announce(t('edit.queued'));
  });
  const details = h('details', { id: 'edit-box', open: d.open, ontoggle: (e) => { d.open = e.target.open; } },
    h('summary', {}, t('edit.title')), form);
  return details;
}

function notFixedBox(row, svc, events, mine) {
  const id = row.id;
  if (row.not_fixed_at) return h('p', { class: 'note warn', id: 'nf-waiting' }, t('nf.pendingClerk'));
  if (mine.mutations.some((m) => m.name === 'request.notFixed')) return h('p', { class: 'note warn', id: 'nf-pending' }, t('nf.queued'));
  const days = (svc && svc.reopenDays) || 0;
  const resolved = row.resolved_at ? new Date(String(row.resolved_at).replace(' ', 'T')) : null;
  if (!days || !resolved || Number.isNaN(resolved.getTime())) return null;
  const until = new Date(resolved.getTime() + days * 86400_000);
  if (Date.now() > until.getTime()) return null;
  const d = draft('nf', id, () => ({ text: '', photos: [], open: false }));
  const { ta, node } = textArea('nf-reason', t('nf.reason'), d, 'text', MESSAGE_MAX, t(svc.reopenMode === 'clerk' ? 'nf.modeClerk' : 'nf.modeReopen'));
  const form = h('form', { novalidate: true, id: 'nf-form' },
    h('p', {}, t('nf.explain', { date: fmtDate(until.toISOString(), false) })), node,
    photoPicker({ id: 'nf-photos', legend: t('nf.photos'), max: photoRoom(row), photos: d.photos }),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'nf-send', class: 'danger' }, t('nf.send'))));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const msg = (d.text || '').trim();
    if (!msg) return fail(node, ta, t('err.required', { field: t('nf.reason') }));
    if (tooLong(msg, MESSAGE_MAX)) return fail(node, ta, t('err.maxLength', { field: t('nf.reason'), max: MESSAGE_MAX }));
    form.querySelector('button[type=submit]').disabled = true;
    await notFixed(id, msg, d.photos.map(({ data, type, sha256 }) => ({ data, type, sha256 })));
    drop('nf', id);
    announce(t('nf.queued'));
  });
  return h('details', { id: 'nf-box', open: d.open, ontoggle: (e) => { d.open = e.target.open; } }, h('summary', {}, t('nf.title')), form);
}

function radios(name, legend, options, d) {
  return h('fieldset', { id: `rate-${name}`, tabindex: '-1', 'aria-describedby': `rate-${name}-err` }, h('legend', {}, legend),
    options.map(([value, text], i) => h('label', { class: 'choice' },
      h('input', { type: 'radio', name: `rate-${name}`, id: `rate-${name}-${i}`, value, checked: d[name] === value, onchange: () => { d[name] = value; } }), text)),
    h('p', { class: 'err', id: `rate-${name}-err` }));
}

function rateBox(row, events, mine) {
  const id = row.id;
  if (events.some((e) => e.type === 'rating') || mine.mutations.some((m) => m.name === 'request.rate')) {
    return h('p', { class: 'note ok', id: 'rate-done' }, t('rate.done'));
  }
  const d = draft('rate', id, () => ({ solved: '', satisfaction: '', speed: '', comment: '' }));
  const comment = textArea('rate-comment', t('rate.comment'), d, 'comment', RATE_COMMENT_MAX);
  const summary = h('div', { class: 'summary', tabindex: '-1', id: 'rate-summary', role: 'alert' });
  const form = h('form', { novalidate: true, id: 'rate-form' }, summary,
    radios('solved', t('rate.solved'), [['yes', t('rate.solved.yes')], ['partly', t('rate.solved.partly')], ['no', t('rate.solved.no')]], d),
    radios('satisfaction', t('rate.satisfaction'), [1, 2, 3, 4, 5].map((n) => [String(n), t(`rate.sat.${n}`)]), d),
    radios('speed', t('rate.speed'), [['fast', t('rate.speed.fast')], ['ok', t('rate.speed.ok')], ['slow', t('rate.speed.slow')]], d),
    comment.node,
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'rate-send' }, t('rate.send'))));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const missing = [['solved', 'rate.solved'], ['satisfaction', 'rate.satisfaction'], ['speed', 'rate.speed']].filter(([k]) => !d[k]);
    const problems = missing.map(([k, label]) => ({ id: `rate-${k}`, message: t('err.required', { field: t(label) }) }));
    if (tooLong(d.comment, RATE_COMMENT_MAX)) problems.push({ id: 'rate-comment', message: t('err.maxLength', { field: t('rate.comment'), max: RATE_COMMENT_MAX }) });
    for (const el of form.querySelectorAll('.err')) el.textContent = '';
    if (problems.length) {
      for (const p of problems) { const el = form.querySelector(`#${p.id}-err`); if (el) el.textContent = p.message; }
      summary.replaceChildren(h('h2', {}, t('err.summary')), h('ul', {}, problems.map((p) => h('li', {}, h('a', { href: `#${p.id}` }, p.message)))));
      summary.focus();
      return;
    }
    form.querySelector('button[type=submit]').disabled = true;
    await rateRequest(id, { solved: d.solved, satisfaction: Number(d.satisfaction), speed: d.speed, comment: d.comment.trim() });
    drop('rate', id);
    announce(t('rate.thanks'));
  });
  return h('section', { id: 'rate-box', 'aria-labelledby': 'rate-title' }, h('h2', { id: 'rate-title' }, t('rate.title')), form);
}

/** REFUSALS maps this file's mutation names to their "not accepted" message key. */
export const REFUSALS = { 'request.edit': 'edit.refused', 'request.notFixed': 'nf.refused', 'request.rate': 'rate.refused' };

/**
 * conversation returns what the request's page shows for the citizen to act:
 * {top: the city's question (first on the page), actions: edit / not fixed / rating}.
 */
export function conversation(row, svc, events, mine) {
  if (row._local || row._rejected) return { top: null, actions: null };
  switch (row.status) {
    case 'waiting_citizen': return { top: replyBox(row, events, mine), actions: null };
    case 'received': return { top: null, actions: editBox(row, svc, mine) };
    case 'resolved': return { top: null, actions: [notFixedBox(row, svc, events, mine), rateBox(row, events, mine)] };
    default: return { top: null, actions: null };
  }
}
