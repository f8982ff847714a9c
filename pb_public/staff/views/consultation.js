// Supervisor: one consultation (docs/consultations.md). Before it opens, the
// editor: code, title and description in the five languages, times in the
// consultation's zone, eligibility, late policy and the questions of the four
// kinds (single, multiple, ranking, free text; "other" on choices). The
// lifecycle through the records API — draft ⇄ scheduled, "open now" (the opening
// time set to this minute), the close time only extended — and publication with
// POST /api/consultations/{id}/publish. Published results: per question a table
// with a bar chart drawn from it (the table is the accessible form), CSV/JSON,
// and moderation of the free texts (consultation_texts.approved). The server's
// hooks decide; their 400s appear next to the field they name.
import { pb, send } from '../api.js';
import { t, lang, loc, fmtDate, LANGS } from '../i18n.js';
import { h, announce } from '/app/dom.js';
import { showErrors, clearErrors, errorBox } from './money.js';
import { phase, localText } from './consultations.js';
import { chartFromTable } from './stats.js';

const KINDS = ['single', 'multiple', 'ranking', 'text'];
const CHOICE = ['single', 'multiple', 'ranking'];

/** nowLocal is this minute's wall-clock time in zone, in the form the server takes ("2026-03-29T23:59"). */
export function nowLocal(zone, now = new Date()) {
  const p = Object.fromEntries(new Intl.DateTimeFormat('en-CA', { timeZone: zone || undefined, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' })
    .formatToParts(now).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

const clean = (m) => Object.fromEntries(Object.entries(m || {}).map(([k, v]) => [k, String(v || '').trim()]).filter(([, v]) => v));

/** render shows the editor (draft, scheduled), the management (open, closed) or the results (published). */
export async function render(main, params, ctx) {
  let c = null;
  if (params.id !== 'new') {
    try {
      c = await pb.collection('consultations').getOne(params.id);
    } catch (err) {
      main.replaceChildren(h('h1', { tabindex: '-1' }, t('cons.title')), h('p', { class: 'note bad' }, err?.message || String(err)));
      return {};
    }
  }
  const ph = c ? phase(c) : 'draft';
  const title = c ? (loc(c.title) || c.code) : t('cons.new');
  const msg = h('div', { id: 'cons-msg', role: 'status' });
  const say = (text, kind = 'ok') => { msg.className = `note ${kind}`; msg.replaceChildren(h('p', {}, text)); announce(text); };
  const parts = [h('h1', { tabindex: '-1' }, title),
    h('p', {}, h('a', { href: '#/consultations' }, t('cons.back'))),
    c ? h('p', {}, t('cons.phaseNow'), ' ', h('span', { class: 'status', id: 'cons-phase', 'data-phase': ph }, t(`cons.phase.${ph}`))) : null,
    h('p', { class: 'note warn' }, t('cons.advisory')),
    msg];
  const reload = (text) => ctx.rerender().then(() => { if (text) { const m = document.getElementById('cons-msg'); if (m) { m.className = 'note ok'; m.replaceChildren(h('p', {}, text)); } announce(text); } });

  if (ph === 'draft' || ph === 'scheduled') parts.push(editor(c, ph, { reload, say, go: ctx.go }));
  else parts.push(summary(c));
  if (ph === 'open') parts.push(extendForm(c, reload));
  if (ph === 'open') parts.push(h('p', { class: 'hint', id: 'cons-close-note' }, t('cons.closeNote', { when: localText(c.closes_local, c.time_zone) })));
  if (ph === 'closed') parts.push(publishForm(c, reload));
  if (ph === 'published') parts.push(await results(c));
  if (c) parts.push(await history(c));
  main.replaceChildren(...parts.filter(Boolean));
  return {};
}

// --- the editor ---

function editor(c, ph, { reload, say, go }) {
  const st = {
    code: c?.code || '', title: { ...(c?.title || {}) }, description: { ...(c?.description || {}) },
    time_zone: c?.time_zone || '', opens_local: c?.opens_local || '', closes_local: c?.closes_local || '',
    late_policy: c?.late_policy || 'strict', grace_minutes: c?.grace_minutes || 0,
    eligibility: { ...(c?.eligibility || {}) },
    questions: structuredClone(Array.isArray(c?.questions) && c.questions.length ? c.questions : [newQuestion(1)]),
  };
  const err = errorBox('cons-error');
  const code = h('input', { type: 'text', id: 'cons-code', maxlength: 16, value: st.code, autocomplete: 'off', 'aria-describedby': 'cons-code-hint', required: true });
  const titleInputs = langInputs('cons-title', st.title, 'input', 200);
  const descInputs = langInputs('cons-desc', st.description, 'textarea', 5000);
  const zone = h('input', { type: 'text', id: 'cons-zone', value: st.time_zone, autocomplete: 'off', placeholder: 'Europe/Rome', 'aria-describedby': 'cons-zone-hint' });
  const opens = h('input', { type: 'datetime-local', id: 'cons-opens', value: st.opens_local, required: true });
  const closes = h('input', { type: 'datetime-local', id: 'cons-closes', value: st.closes_local, required: true });
  const late = h('select', { id: 'cons-late' }, ['strict', 'grace'].map((p) => h('option', { value: p, selected: p === st.late_policy }, t(`cons.late.${p}`))));
  const grace = h('input', { type: 'number', id: 'cons-grace', min: 0, max: 1440, value: st.grace_minutes || 0, 'aria-describedby': 'cons-grace-hint' });
  const minAge = h('input', { type: 'number', id: 'cons-minage', min: 0, max: 120, value: st.eligibility.minAge || '' });
  const districts = h('input', { type: 'text', id: 'cons-districts', value: (st.eligibility.districts || []).join(', '), autocomplete: 'off', 'aria-describedby': 'cons-districts-hint' });
  const qBox = h('div', { id: 'cons-questions', tabindex: '-1' });

  function readQuestions() {
    st.questions = [...qBox.querySelectorAll('fieldset.question')].map((fs, qi) => {
      const q = st.questions[qi] || {};
      const val = (sel) => fs.querySelector(sel)?.value ?? '';
      const kind = val('.q-kind');
      const out = { id: val('.q-id').trim(), kind, title: clean(readLang(fs, '.q-title')), required: fs.querySelector('.q-required').checked };
      const desc = clean(readLang(fs, '.q-desc'));
      out.description = Object.keys(desc).length ? desc : undefined;
      if (CHOICE.includes(kind)) {
        out.options = [...fs.querySelectorAll('.option')].map((o) => ({ id: o.querySelector('.o-id').value.trim(), label: clean(readLang(o, '.o-label')) }));
        if (kind !== 'ranking' && fs.querySelector('.q-other')?.checked) out.other = true;
        if (kind === 'multiple') { out.min = Number(val('.q-min')) || 0; out.max = Number(val('.q-max')) || 0; }
        if (kind === 'ranking') out.topK = Number(val('.q-topk')) || 0;
      } else {
        out.maxLength = Number(val('.q-maxlength')) || 0;
      }
      return { ...q, ...out, ...(CHOICE.includes(kind) ? { maxLength: undefined } : { options: undefined, other: undefined, min: undefined, max: undefined, topK: undefined }) };
    });
  }
  function drawQuestions(focusSel) {
    qBox.replaceChildren(...st.questions.map((q, i) => questionEditor(q, i, st.questions.length, {
      change: (fn) => { readQuestions(); const f = fn(st.questions); drawQuestions(f); },
    })), h('div', { class: 'actions' }, h('button', {
      type: 'button', class: 'secondary', id: 'q-add',
      onclick: () => { readQuestions(); st.questions.push(newQuestion(st.questions.length + 1)); drawQuestions(`#q-${st.questions.length - 1}-id`); },
    }, t('cons.q.add'))));
    if (focusSel) qBox.querySelector(focusSel)?.focus();
  }
  drawQuestions();

  const fields = {
    code, title: titleInputs.first, description: descInputs.first, time_zone: zone, opens_local: opens, closes_local: closes,
    late_policy: late, grace_minutes: grace, eligibility: minAge, questions: qBox, status: code,
  };
  async function save(status, override = {}) {
    readQuestions();
    clearErrors(err, fields);
    const el = {};
    if (Number(minAge.value) > 0) el.minAge = Number(minAge.value);
    const ds = districts.value.split(',').map((s) => s.trim()).filter(Boolean);
    if (ds.length) el.districts = ds;
    if (c?.eligibility?.identityLevel) el.identityLevel = c.eligibility.identityLevel;
    const body = {
      code: code.value.trim().toUpperCase(), title: clean(titleInputs.read()), description: clean(descInputs.read()),
      time_zone: zone.value.trim(), opens_local: opens.value, closes_local: closes.value,
      late_policy: late.value, grace_minutes: late.value === 'grace' ? Number(grace.value) || 0 : 0, eligibility: el,
      questions: JSON.parse(JSON.stringify(st.questions)),
    };
    if (status) body.status = status;
    Object.assign(body, override);
    try {
      const rec = c ? await pb.collection('consultations').update(c.id, body) : await pb.collection('consultations').create({ ...body, status: status || 'draft' });
      const text = override.opens_local ? t('cons.openedNow') : status === 'scheduled' ? t('cons.scheduled') : status === 'draft' && c?.status === 'scheduled' ? t('cons.unscheduled') : t('cons.saved');
      if (!c) { go(`#/consultations/${rec.id}`); announce(text); return; }
      await reload(text);
    } catch (ex) {
      showErrors(err, ex, fields);
    }
  }
  // "open now" saves the form as it is, with the opening time set to this minute in the consultation's zone
  const openNow = () => save(null, { opens_local: nowLocal(zone.value.trim() || c.time_zone) });
  async function remove() {
    if (!confirm(t('cons.deleteConfirm', { title: loc(c.title) || c.code }))) return;
    try { await pb.collection('consultations').delete(c.id); go('#/consultations'); announce(t('cons.deleted')); } catch (ex) { showErrors(err, ex, fields); }
  }

  return h('form', { id: 'cons-form', novalidate: true, onsubmit: (e) => { e.preventDefault(); save(null); } },
    err,
    h('h2', {}, t('cons.about')),
    h('label', { for: 'cons-code' }, t('cons.code')), h('p', { class: 'hint', id: 'cons-code-hint' }, t('cons.codeHint')), code,
    h('fieldset', {}, h('legend', {}, t('cons.titleLabel')), titleInputs.el),
    h('details', {}, h('summary', {}, t('cons.descLabel')), descInputs.el),
    h('h2', {}, t('cons.times')),
    h('div', { class: 'row2' },
      h('div', {}, h('label', { for: 'cons-opens' }, t('cons.opens')), opens),
      h('div', {}, h('label', { for: 'cons-closes' }, t('cons.closes')), closes),
      h('div', {}, h('label', { for: 'cons-zone' }, t('cons.zone')), h('p', { class: 'hint', id: 'cons-zone-hint' }, t('cons.zoneHint')), zone)),
    h('div', { class: 'row2' },
      h('div', { class: 'span2' }, h('label', { for: 'cons-late' }, t('cons.latePolicy')), late),
      h('div', {}, h('label', { for: 'cons-grace' }, t('cons.grace')), h('p', { class: 'hint', id: 'cons-grace-hint' }, t('cons.graceHint')), grace)),
    h('h2', {}, t('cons.eligibility')),
    h('div', { class: 'row2' },
      h('div', {}, h('label', { for: 'cons-minage' }, t('cons.minAge')), minAge),
      h('div', {}, h('label', { for: 'cons-districts' }, t('cons.districts')), h('p', { class: 'hint', id: 'cons-districts-hint' }, t('cons.districtsHint')), districts)),
    h('h2', {}, t('cons.questions')), qBox,
    h('div', { class: 'actions' },
      h('button', { type: 'submit', id: 'cons-save' }, ph === 'scheduled' ? t('cons.save') : t('cons.saveDraft')),
      ph === 'draft' ? h('button', { type: 'button', class: 'secondary', id: 'cons-schedule', onclick: () => save('scheduled') }, t('cons.schedule')) : null,
      ph === 'scheduled' ? h('button', { type: 'button', class: 'secondary', id: 'cons-unschedule', onclick: () => save('draft') }, t('cons.unschedule')) : null,
      ph === 'scheduled' ? h('button', { type: 'button', class: 'secondary', id: 'cons-open-now', onclick: openNow }, t('cons.openNow')) : null,
      c && c.status === 'draft' ? h('button', { type: 'button', class: 'danger', id: 'cons-delete', onclick: remove }, t('cons.delete')) : null),
    ph === 'scheduled' ? h('p', { class: 'hint' }, t('cons.scheduledHint')) : null);
}

function newQuestion(n) {
  return { id: `q${n}`, kind: 'single', title: {}, required: false, options: [{ id: 'a', label: {} }, { id: 'b', label: {} }] };
}

/** langInputs makes one input per language for a {lang: text} value. */
function langInputs(prefix, value, tag, max) {
  const inputs = LANGS.map((l) => {
    const id = `${prefix}-${l}`;
    const el = h(tag, { id, lang: l, maxlength: max, value: value?.[l] || '', ...(tag === 'textarea' ? { rows: 3 } : { type: 'text', autocomplete: 'off' }), 'data-lang': l });
    return [h('label', { for: id }, t(`langName.${l}`)), el];
  });
  return {
    el: h('div', { class: 'langs' }, inputs),
    first: inputs[0][1],
    read: () => Object.fromEntries(inputs.map(([, el]) => [el.dataset.lang, el.value])),
  };
}

function readLang(scope, sel) {
  const out = {};
  for (const el of scope.querySelectorAll(sel)) out[el.dataset.lang] = el.value;
  return out;
}

function questionEditor(q, i, n, { change }) {
  const p = `q-${i}`;
  const kind = h('select', { id: `${p}-kind`, class: 'q-kind', onchange: () => change((qs) => { const x = qs[i]; if (CHOICE.includes(x.kind) && !(x.options || []).length) x.options = [{ id: 'a', label: {} }, { id: 'b', label: {} }]; return `#${p}-kind`; }) },
    KINDS.map((k) => h('option', { value: k, selected: k === q.kind }, t(`cons.kind.${k}`))));
  const langField = (cls, base, value, tag = 'input') => LANGS.map((l) => {
    const id = `${base}-${l}`;
    return [h('label', { for: id }, t(`langName.${l}`)), h(tag, { id, class: cls, lang: l, 'data-lang': l, value: value?.[l] || '', ...(tag === 'input' ? { type: 'text', autocomplete: 'off' } : { rows: 2 }) })];
  });
  const opts = CHOICE.includes(q.kind) ? h('fieldset', {}, h('legend', {}, t('cons.q.options')),
    (q.options || []).map((o, j) => h('div', { class: 'option panel' },
      h('label', { for: `${p}-o-${j}-id` }, t('cons.q.optionId', { n: j + 1 })), h('input', { type: 'text', id: `${p}-o-${j}-id`, class: 'o-id', value: o.id, autocomplete: 'off' }),
      h('fieldset', {}, h('legend', {}, t('cons.q.optionLabel', { n: j + 1 })), h('div', { class: 'langs' }, langField('o-label', `${p}-o-${j}-label`, o.label))),
      h('div', { class: 'actions' }, h('button', {
        type: 'button', class: 'secondary', id: `${p}-o-${j}-remove`,
        onclick: () => change((qs) => { qs[i].options.splice(j, 1); return `#${p}-o-add`; }),
      }, t('cons.q.removeOption', { n: j + 1 }))))),
    h('div', { class: 'actions' }, h('button', {
      type: 'button', class: 'secondary', id: `${p}-o-add`,
      onclick: () => change((qs) => { const os = qs[i].options || (qs[i].options = []); os.push({ id: String.fromCharCode(97 + (os.length % 26)) + (os.length >= 26 ? os.length : ''), label: {} }); return `#${p}-o-${os.length - 1}-id`; }),
    }, t('cons.q.addOption')))) : null;
  const num = (cls, id, label, value, min, max) => h('div', {}, h('label', { for: id }, label), h('input', { type: 'number', id, class: cls, min, max, value: value ?? '' }));
  const move = (d) => change((qs) => { const [x] = qs.splice(i, 1); qs.splice(i + d, 0, x); return `#q-${i + d}-up, #q-${i + d}-down`; });
  return h('fieldset', { class: 'question', id: p },
    h('legend', {}, t('cons.q.legend', { n: i + 1 })),
    h('div', { class: 'row2' },
      h('div', {}, h('label', { for: `${p}-id` }, t('cons.q.id')), h('input', { type: 'text', id: `${p}-id`, class: 'q-id', value: q.id, autocomplete: 'off' })),
      h('div', {}, h('label', { for: `${p}-kind` }, t('cons.q.kind')), kind)),
    h('fieldset', {}, h('legend', {}, t('cons.q.title')), h('div', { class: 'langs' }, langField('q-title', `${p}-title`, q.title))),
    h('details', {}, h('summary', {}, t('cons.q.desc')), h('div', { class: 'langs' }, langField('q-desc', `${p}-desc`, q.description, 'textarea'))),
    h('label', { class: 'choice' }, h('input', { type: 'checkbox', class: 'q-required', checked: !!q.required }), t('cons.q.required')),
    q.kind === 'single' || q.kind === 'multiple' ? h('label', { class: 'choice' }, h('input', { type: 'checkbox', class: 'q-other', checked: !!q.other }), t('cons.q.other')) : null,
    q.kind === 'multiple' ? h('div', { class: 'row2' }, num('q-min', `${p}-min`, t('cons.q.min'), q.min, 0, 50), num('q-max', `${p}-max`, t('cons.q.max'), q.max, 0, 50)) : null,
    q.kind === 'ranking' ? h('div', { class: 'row2' }, num('q-topk', `${p}-topk`, t('cons.q.topK'), q.topK, 0, 50)) : null,
    q.kind === 'text' ? h('div', { class: 'row2' }, num('q-maxlength', `${p}-maxlength`, t('cons.q.maxLength'), q.maxLength, 1, 5000)) : null,
    opts,
    h('div', { class: 'actions' },
      i > 0 ? h('button', { type: 'button', class: 'secondary', id: `q-${i}-up`, onclick: () => move(-1) }, t('cons.q.up', { n: i + 1 })) : null,
      i < n - 1 ? h('button', { type: 'button', class: 'secondary', id: `q-${i}-down`, onclick: () => move(1) }, t('cons.q.down', { n: i + 1 })) : null,
      n > 1 ? h('button', { type: 'button', class: 'danger', id: `q-${i}-remove`, onclick: () => change((qs) => { qs.splice(i, 1); return '#q-add'; }) }, t('cons.q.remove', { n: i + 1 })) : null));
}

// --- open, closed: read-only summary, extend, publish ---

function summary(c) {
  const qs = Array.isArray(c.questions) ? c.questions : [];
  return h('section', { 'aria-labelledby': 'cons-summary-title' },
    h('h2', { id: 'cons-summary-title' }, t('cons.about')),
    h('dl', { id: 'cons-meta' },
      h('dt', {}, t('cons.code')), h('dd', { class: 'mono' }, c.code),
      h('dt', {}, t('cons.opens')), h('dd', {}, localText(c.opens_local, c.time_zone)),
      h('dt', {}, t('cons.closes')), h('dd', { id: 'cons-closes-shown' }, localText(c.closes_local, c.time_zone)),
      h('dt', {}, t('cons.latePolicy')), h('dd', {}, t(`cons.late.${c.late_policy || 'strict'}`), c.late_policy === 'grace' ? ` (${t('cons.graceMinutes', { n: c.grace_minutes })})` : ''),
      h('dt', {}, t('cons.questions')), h('dd', {}, h('ol', {}, qs.map((q) => h('li', {}, loc(q.title) || q.id, ` — ${t(`cons.kind.${q.kind}`)}`))))),
    h('p', { class: 'hint' }, t('cons.frozen')));
}

function extendForm(c, reload) {
  const closes = h('input', { type: 'datetime-local', id: 'cons-extend', value: c.closes_local, min: c.closes_local, 'aria-describedby': 'cons-extend-hint' });
  const err = errorBox('cons-extend-error');
  return h('form', {
    id: 'cons-extend-form', class: 'panel', novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      clearErrors(err, { closes_local: closes });
      try {
        await pb.collection('consultations').update(c.id, { closes_local: closes.value });
        await reload(t('cons.extended', { when: localText(closes.value, c.time_zone) }));
      } catch (ex) { showErrors(err, ex, { closes_local: closes }); }
    },
  }, h('h2', {}, t('cons.extendTitle')), err,
  h('label', { for: 'cons-extend' }, t('cons.extendLabel', { zone: c.time_zone })), h('p', { class: 'hint', id: 'cons-extend-hint' }, t('cons.extendHint')), closes,
  h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'cons-extend-save' }, t('cons.extend'))));
}

function publishForm(c, reload) {
  const err = errorBox('cons-publish-error');
  return h('section', { class: 'panel', id: 'cons-publish' }, h('h2', {}, t('cons.publishTitle')), err,
    h('p', {}, t('cons.publishHint')),
    h('div', { class: 'actions' }, h('button', {
      type: 'button', id: 'cons-publish-go',
      onclick: async (e) => {
        clearErrors(err);
        e.target.disabled = true;
        e.target.textContent = t('cons.publishing');
        try {
          await send(`/api/consultations/${c.id}/publish`, { method: 'POST' });
          await reload(t('cons.published'));
        } catch (ex) {
          showErrors(err, ex);
          e.target.disabled = false;
          e.target.textContent = t('cons.publish');
        }
      },
    }, t('cons.publish'))));
}

// --- published: results and moderation ---

const pct = (x) => new Intl.NumberFormat(lang(), { style: 'percent', maximumFractionDigits: 1 }).format(Number(x) || 0);

async function results(c) {
  const r = c.results || {};
  const qs = Array.isArray(c.questions) ? c.questions : [];
  const byId = new Map(qs.map((q) => [q.id, q]));
  const out = h('section', { id: 'cons-results', 'aria-labelledby': 'cons-results-title' },
    h('h2', { id: 'cons-results-title' }, t('cons.results')),
    h('p', { id: 'cons-total' }, t('cons.total', { n: r.totalBallots || 0 }), r.lateBallots ? ` ${t('cons.lateBallots', { n: r.lateBallots })}` : ''),
    h('p', { class: 'hint' }, t('cons.bordaNote')),
    h('p', {}, h('a', { href: `/api/consultations/${c.id}/results.csv`, download: true, id: 'cons-csv' }, t('cons.csv')), ' · ',
      h('a', { href: `/api/consultations/${c.id}/results.json`, download: true }, t('cons.json'))));
  for (const qr of r.questions || []) {
    const q = byId.get(qr.id) || { id: qr.id, title: {} };
    const qTitle = loc(q.title) || q.id;
    const sec = h('section', { class: 'figure', id: `res-${qr.id}`, 'aria-labelledby': `res-${qr.id}-h` }, h('h3', { id: `res-${qr.id}-h` }, qTitle));
    sec.append(h('p', { class: 'hint' }, t('cons.answered', { n: qr.answered || 0, blank: qr.blank || 0 })));
    if (qr.kind !== 'text' && (qr.options || []).length) {
      const ranking = qr.kind === 'ranking';
      const optLabel = (id) => loc((q.options || []).find((o) => o.id === id)?.label) || id;
      const columns = [{ key: 'option', label: t('cons.col.option') }, { key: 'count', label: t('cons.col.count') }, { key: 'share', label: t('cons.col.share') }];
      if (ranking) columns.push({ key: 'first', label: t('cons.col.first') }, { key: 'borda', label: t('cons.col.borda') }, { key: 'rank', label: t('cons.col.rank') });
      const rows = qr.options.map((o) => {
        const row = [optLabel(o.id), o.count, pct(o.share)];
        if (ranking) row.push(o.firstPreferences ?? 0, o.borda ?? 0, o.rank ?? '');
        return row;
      });
      if (qr.other !== undefined && qr.other !== null) rows.push([t('cons.other'), qr.other, pct(qr.otherShare)].concat(ranking ? ['', '', ''] : []));
      // the chart is drawn from this very table's rows (counts, or Borda points for a ranking)
      const fig = { columns, rows, chart: { type: 'bar', x: 'option', series: [ranking ? 'borda' : 'count'] } };
      const chart = chartFromTable(fig);
      if (chart) sec.append(chart);
      sec.append(h('table', {}, h('caption', { class: 'sr-only' }, qTitle),
        h('thead', {}, h('tr', {}, columns.map((col) => h('th', { scope: 'col' }, col.label)))),
        h('tbody', {}, rows.map((row) => h('tr', {}, row.map((v, i) => (i === 0 ? h('th', { scope: 'row' }, String(v)) : h('td', {}, String(v)))))),
          h('tr', {}, h('th', { scope: 'row' }, t('cons.blank')), h('td', {}, String(qr.blank || 0)), h('td', {}, ''), ranking ? [h('td', {}), h('td', {}), h('td', {})] : null))));
    }
    out.append(sec);
  }
  out.append(await moderation(c, byId));
  return out;
}

async function moderation(c, byId) {
  const sec = h('section', { id: 'cons-texts', 'aria-labelledby': 'cons-texts-title' }, h('h2', { id: 'cons-texts-title' }, t('cons.texts')),
    h('p', { class: 'hint' }, t('cons.textsHint')));
  let texts = [];
  try {
    texts = await pb.collection('consultation_texts').getFullList({ filter: pb.filter('consultation = {:c}', { c: c.id }), sort: 'position', batch: 500 });
  } catch (err) {
    sec.append(h('p', { class: 'note bad' }, err?.message || String(err)));
    return sec;
  }
  if (!texts.length) { sec.append(h('p', { class: 'muted', id: 'cons-texts-none' }, t('cons.noTexts'))); return sec; }
  const status = h('p', { role: 'status', id: 'cons-texts-status' });
  const list = h('ul', { class: 'texts', id: 'cons-text-list' }, texts.map((x, i) => {
    const q = byId.get(x.question);
    const box = h('input', {
      type: 'checkbox', id: `text-${x.id}`, checked: x.approved,
      onchange: async (e) => {
        try {
          await pb.collection('consultation_texts').update(x.id, { approved: e.target.checked });
          status.textContent = e.target.checked ? t('cons.textApproved', { n: i + 1 }) : t('cons.textWithdrawn', { n: i + 1 });
        } catch (ex) {
          e.target.checked = !e.target.checked;
          status.textContent = ex?.message || String(ex);
        }
      },
    });
    return h('li', { 'data-id': x.id },
      h('p', { class: 'hint' }, t('cons.textOf', { n: i + 1, question: loc(q?.title) || x.question })),
      h('blockquote', { id: `text-${x.id}-body` }, x.text),
      h('label', { class: 'choice' }, box, t('cons.approve', { n: i + 1 })));
  }));
  sec.append(list, status);
  return sec;
}

async function history(c) {
  try {
    const evs = await pb.collection('consultation_events').getFullList({ filter: pb.filter('consultation = {:c}', { c: c.id }), sort: 'created', batch: 200 });
    return h('section', { 'aria-labelledby': 'cons-history-title' }, h('h2', { id: 'cons-history-title' }, t('cons.history')),
      h('ol', { id: 'cons-history' }, evs.map((e) => h('li', {}, fmtDate(e.created), ' · ', t(`cons.ev.${e.type}`),
        e.type === 'status' || e.type === 'close_extended' ? ` (${[e.from_value, e.to_value].map((v) => (['draft', 'scheduled', 'open', 'closed', 'published'].includes(v) ? t(`cons.phase.${v}`) : v)).filter(Boolean).join(' → ')})` : ''))));
  } catch {
    return null;
  }
}
