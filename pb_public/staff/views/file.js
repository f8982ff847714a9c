// The request file beside the queue and its actions. Reads
// GET /api/staff/requests/{id}; writes through the records API (PATCH with
// If-Match: the hook answers 412 when someone changed the request since the clerk
// opened it) or the staff routes — the workflow stays on the data layer.
import { pb, me, send, errorText, fileToken, photoURL, nameOf } from '../api.js';
import { t, has, lang, loc, fmtDate, fmtSpan, toTime } from '../i18n.js';
import { h, announce } from '/app/dom.js';

const PRIORITIES = ['low', 'normal', 'high', 'urgent'];
const OPEN = ['received', 'in_progress', 'waiting_citizen'];
const NOTE_MAX = 2000;

/** slaText describes the SLA clock of a request. */
export function slaText(req, now = Date.now()) {
  const due = toTime(req.due_at);
  if (Number.isNaN(due)) return { text: t('sla.none'), late: false };
  if (!OPEN.includes(req.status)) {
    const done = toTime(req.resolved_at);
    if (!Number.isNaN(done)) return { text: done <= due ? t('sla.metAt', { date: fmtDate(req.resolved_at) }) : t('sla.missedBy', { span: fmtSpan(done - due) }), late: done > due };
    return { text: t('sla.closed'), late: false };
  }
  const created = toTime(req.created);
  const pct = Number.isNaN(created) || due <= created ? null : Math.round(((now - created) / (due - created)) * 100);
  if (now > due) return { text: t('sla.overdue', { span: fmtSpan(now - due), date: fmtDate(req.due_at) }), late: true, pct };
  return { text: t('sla.left', { span: fmtSpan(due - now), date: fmtDate(req.due_at) }), late: false, pct };
}

function counter(area) {
  const c = h('span', { class: 'counter', 'aria-live': 'off' }, t('note.count', { n: 0, max: NOTE_MAX }));
  area.addEventListener('input', () => { c.textContent = t('note.count', { n: [...area.value].length, max: NOTE_MAX }); });
  return c;
}

/**
 * openFile renders request id into box and returns a controller:
 * {shortcut(action), changedElsewhere(record), destroy()}.
 */
export async function openFile(box, id, ctx) {
  const L = lang();
  const st = { data: null, updated: null, drafts: {}, destroyed: false, templates: [] };
  box.replaceChildren(h('p', { role: 'status' }, t('loading')));

  async function fetchFile() {
    const d = await send(`/api/staff/requests/${id}`, { query: { lang: L } });
    st.data = d;
    st.updated = d.request.updated;
    return d;
  }
  try {
    await fetchFile();
  } catch (err) {
    box.replaceChildren(h('h2', { id: 'file-title', tabindex: '-1' }, t('file.title')), h('p', { class: 'note bad' }, errorText(err)),
      h('button', { type: 'button', class: 'secondary', onclick: ctx.close }, t('file.close')));
    if (ctx.focus) box.querySelector('h2').focus();
    return { destroy() {} };
  }

  const msg = h('div', { id: 'file-msg', role: 'status', tabindex: '-1' });
  const guardBox = h('div', { id: 'guard', class: 'guard', role: 'alert', hidden: true });
  const changed = h('div', { id: 'changed-elsewhere', class: 'note warn', role: 'status', hidden: true });

  function say(text, kind = 'ok') {
    msg.className = `note ${kind}`;
    msg.replaceChildren(h('p', {}, text));
    announce(text);
  }

  /** patch sends a PATCH guarded by If-Match; on 412 it asks the clerk first. */
  async function patch(body, { next = false, force = false } = {}) {
    guardBox.hidden = true;
    try {
      const headers = { 'If-Match': `"${st.updated}"` };
      const rec = await pb.collection('requests').update(id, body, { headers });
      st.updated = rec.updated;
      say(t('file.saved', { number: rec.number }));
      if (next) ctx.saved();
      else await reload();
      return true;
    } catch (err) {
      const data = err.response?.data || {};
      if (err.status === 412 || data.code === 'changed_since_opened') {
        showGuard(body, { next, newUpdated: data.updated, by: data.by, force });
        return false;
      }
      say(errorText(err), 'bad');
      msg.focus();
      return false;
    }
  }

  function showGuard(body, { next, newUpdated, by }) {
    guardBox.hidden = false;
    const raw = by?.name || by || '';
    const who = ['citizen', 'staff', 'superuser', 'system', 'open311'].includes(raw) ? t(`author.${raw}`) : raw;
    guardBox.replaceChildren(
      h('p', {}, who ? t('guard.changedBy', { name: who, date: fmtDate(newUpdated) }) : t('guard.changed', { date: fmtDate(newUpdated) })),
      h('p', {}, t('guard.explain')),
      h('div', { class: 'actions' },
        h('button', { type: 'button', id: 'guard-reload', onclick: () => { keepDrafts(); reload(); } }, t('guard.reload')),
        h('button', {
          type: 'button', class: 'secondary', id: 'guard-apply',
          onclick: async () => {
            if (newUpdated) st.updated = newUpdated;
            else await fetchFile();
            patch(body, { next });
          },
        }, t('guard.apply'))));
    guardBox.querySelector('button').focus();
  }

  function keepDrafts() {
    for (const el of box.querySelectorAll('textarea[id], select[id], input[id]')) st.drafts[el.id] = el.type === 'checkbox' ? el.checked : el.value;
  }

  async function reload() {
    keepDrafts();
    try { await fetchFile(); } catch (err) { say(errorText(err), 'bad'); return; }
    guardBox.hidden = true;
    changed.hidden = true;
    draw(false);
  }

  // --- rendering ---
  function draw(focusTitle) {
    const d = st.data;
    const r = d.request;
    const svc = typeof r.service === 'object' && r.service ? r.service : (ctx.catalogue?.serviceById.get(r.service) || {});
    const svcName = svc.name || nameOf(svc, L);
    const dept = typeof r.department === 'object' && r.department ? r.department : ctx.catalogue?.deptById.get(r.department);
    const sla = slaText(r);
    const title = h('h2', { id: 'file-title', tabindex: '-1' }, t('file.heading', { number: r.number || r.id }));
    const head = h('header', { class: 'fh' }, title,
      h('span', { class: 'status', id: 'file-status' }, t(`status.${r.status}`)),
      h('span', { class: `sla ${sla.late ? 'late' : ''}`, id: 'sla' }, sla.text),
      h('button', { type: 'button', class: 'secondary', id: 'file-close', 'aria-keyshortcuts': 'Escape', onclick: ctx.close }, t('file.close')));

    const facts = h('dl', {},
      h('dt', {}, t('file.service')), h('dd', {}, svcName || ''),
      h('dt', {}, t('file.department')), h('dd', {}, dept ? (dept.name || nameOf(dept, L)) : ''),
      h('dt', {}, t('file.priority')), h('dd', {}, r.priority ? t(`priority.${r.priority}`) : t('priority.none')),
      h('dt', {}, t('file.assignee')), h('dd', { id: 'file-assignee' }, r.assignee?.name || t('queue.unassigned')),
      h('dt', {}, t('file.created')), h('dd', {}, fmtDate(r.created)),
      h('dt', {}, t('file.due')), h('dd', {}, r.due_at ? fmtDate(r.due_at) : t('due.none')),
      h('dt', {}, t('file.source')), h('dd', {}, r.source ? t(`source.${r.source}`) : ''),
      d.duplicate_of ? [h('dt', {}, t('file.duplicateOf')), h('dd', {}, h('a', { href: `#/queue/open/${d.duplicate_of.id}` }, d.duplicate_of.number))] : null,
      d.duplicates?.length ? [h('dt', {}, t('file.duplicates')), h('dd', {}, d.duplicates.map((x, i) => [i ? ', ' : '', h('a', { href: `#/queue/open/${x.id}` }, x.number)]))] : null);

    const answers = (d.answers || []).length
      ? h('dl', { id: 'answers' }, d.answers.map((a) => [h('dt', {}, loc(a.label) || a.code), h('dd', {}, displayAnswer(a))]))
      : h('p', { class: 'muted' }, t('file.noAnswers'));

    const loc2 = r.location && (r.location.lat || r.location.lon) ? r.location : null;
    const place = h('div', { id: 'place' },
      r.address ? h('p', {}, r.address) : null,
      loc2 ? h('p', {}, t('file.coords', { lat: loc2.lat.toFixed(5), lon: loc2.lon.toFixed(5) }), ' ',
        h('a', { href: `https://www.openstreetmap.org/?mlat=${loc2.lat}&mlon=${loc2.lon}#map=18/${loc2.lat}/${loc2.lon}`, target: '_blank', rel: 'noopener noreferrer' }, t('file.openMap'))) : null,
      !r.address && !loc2 ? h('p', { class: 'muted' }, t('file.noLocation')) : null);

    const photos = h('ul', { class: 'thumbs', id: 'photos' });
    drawPhotos(photos, r);

    const citizen = d.citizen?.anonymized
      ? h('p', { id: 'citizen' }, t('file.anonymised'))
      : d.citizen
        ? h('p', { id: 'citizen' }, [d.citizen.name, d.citizen.email].filter(Boolean).join(' · '), d.citizen.lang ? ` · ${t('file.citizenLang', { lang: d.citizen.lang })}` : '')
        : d.contact
          ? h('p', { id: 'citizen' }, t('file.contact'), ' ', [d.contact.name, d.contact.email, d.contact.phone].filter(Boolean).join(' · '))
          : h('p', { id: 'citizen', class: 'muted' }, t('file.noCitizen'));

    const receipts = (d.receipts || []).length
      ? h('ul', { id: 'receipts' }, d.receipts.map((rc) => h('li', {}, t(`receipt.${rc.kind}`) || rc.kind, ' · ', fmtDate(rc.issued_at), ' · ',
        h('a', { href: `#/print/${id}` }, t('file.print')))))
      : h('p', { class: 'muted' }, t('file.noReceipts'));

    const nearby = (d.nearby || []).length
      ? h('ul', { id: 'nearby' }, d.nearby.map((n) => h('li', {},
        h('a', { href: `#/queue/open/${n.id}` }, n.number), ` · ${t(`status.${n.status}`)} · ${t('file.metres', { n: Math.round(n.distance_m) })}${n.address ? ` · ${n.address}` : ''} `,
        h('button', { type: 'button', class: 'linkish', onclick: () => { const i = document.getElementById('dup-number'); i.value = n.number; i.focus(); } }, t('dup.pick', { number: n.number })))))
      : h('p', { class: 'muted' }, t('file.noNearby'));

    box.replaceChildren(head, msg, guardBox, changed,
      facts,
      h('h3', {}, t('file.answers')), answers,
      h('h3', {}, t('file.description')), h('p', { id: 'description' }, r.description || t('file.noDescription')),
      h('h3', {}, t('file.location')), place,
      h('h3', {}, t('file.photos')), photos,
      h('h3', {}, t('file.citizen')), citizen,
      feeSection(r, svc) || '',
      actionsPanel(r, svc),
      h('h3', {}, t('file.timeline')), timeline(d.events || []),
      h('h3', {}, t('file.receipts')), receipts,
      h('h3', {}, t('file.nearby')), nearby);
    for (const [k, v] of Object.entries(st.drafts)) {
      const el = box.querySelector(`#${CSS.escape(k)}`);
      if (!el || el.closest('#guard')) continue;
      if (el.type === 'checkbox') el.checked = v; else if (el.tagName === 'SELECT' ? [...el.options].some((o) => o.value === v) : true) el.value = v;
    }
    st.drafts = {};
    if (focusTitle) title.focus();
  }

  // the fee panel (views/fee.js, loaded only for requests that carry a fee)
  function feeSection(r, svc) {
    const cat = ctx.catalogue?.services.find((s) => s.code === svc.code) || {};
    const hasPayment = (st.data.receipts || []).some((rc) => rc.kind === 'payment' || rc.kind === 'refund');
    if (!(r.fee > 0) && !(cat.fee > 0) && cat.fee_mode !== 'assessed' && !hasPayment) return null;
    const panel = h('div', { id: 'fee', 'aria-busy': 'true' });
    import('./fee.js').then((m) => m.renderFee(panel, {
      request: r, receipts: st.data.receipts || [], service: cat,
      reload: async (text) => { await reload(); if (text) { say(text); msg.focus(); } },
    })).catch((err) => { panel.replaceChildren(h('p', { class: 'note bad' }, errorText(err))); })
      .finally(() => panel.removeAttribute('aria-busy'));
    return h('section', { class: 'panel', id: 'fee-panel', 'aria-labelledby': 'fee-title' }, h('h3', { id: 'fee-title' }, t('file.fee')), panel);
  }

  function displayAnswer(a) {
    if (a.display !== undefined && a.display !== null && a.display !== '') return typeof a.display === 'object' ? loc(a.display) : String(a.display);
    if (typeof a.value === 'boolean') return a.value ? t('file.yes') : t('file.no');
    if (Array.isArray(a.value)) return a.value.join(', ');
    return String(a.value ?? '');
  }

  async function drawPhotos(list, r) {
    const names = r.photos || [];
    if (!names.length) { list.replaceWith(h('p', { class: 'muted', id: 'photos' }, t('file.noPhotos'))); return; }
    let tok;
    try { tok = await fileToken(); } catch (err) { list.replaceChildren(h('li', {}, errorText(err))); return; }
    list.replaceChildren(...names.map((name, i) => {
      const img = h('img', { src: photoURL(id, name, tok, '320x240'), alt: t('photo.alt', { i: i + 1, n: names.length, number: r.number }), width: 160, height: 120, loading: 'lazy' });
      img.addEventListener('error', () => { img.alt = t('photo.failed', { i: i + 1 }); });
      return h('li', {}, h('button', { type: 'button', class: 'photo', 'data-name': name, 'aria-label': t('photo.zoom', { i: i + 1 }), onclick: () => zoom(name, i, names.length) }, img));
    }));
  }

  async function zoom(name, i, n) {
    const mod = await import('./redact.js');
    mod.openZoom({
      requestId: id, name, index: i, count: n, number: st.data.request.number,
      url: photoURL(id, name, await fileToken()),
      redact: async (boxes) => {
        await send(`/api/staff/requests/${id}/photos/${encodeURIComponent(name)}/redact`, { method: 'POST', body: { boxes } });
        say(t('photo.redacted'));
        await reload();
      },
    });
  }

  function timeline(events) {
    if (!events.length) return h('p', { class: 'muted' }, t('file.noEvents'));
    return h('ol', { class: 'timeline', id: 'timeline' }, events.map((ev) => {
      const pub = !!ev.public;
      // an event type newer than this console (another room's) shows as its code, not as a missing string
      let what = has(`event.${ev.type}`) ? t(`event.${ev.type}`) : ev.type;
      if (ev.type === 'status' && ev.to_status) what = t('event.statusChange', { from: ev.from_status ? t(`status.${ev.from_status}`) : '—', to: t(`status.${ev.to_status}`) });
      const author = ev.author_name || (ev.author_type ? t(`author.${ev.author_type}`) : '');
      return h('li', { class: pub ? 'public' : 'internal', 'data-type': ev.type },
        h('span', { class: 'vis' }, pub ? t('event.public') : t('event.internal')),
        h('span', { class: 'who' }, [fmtDate(ev.created), author, what].filter(Boolean).join(' · ')),
        ev.message ? h('p', {}, ev.message) : null);
    }));
  }

  // --- actions ---
  function actionsPanel(r, svc) {
    const d = st.data;
    const transitions = d.transitions || [];
    const statusSel = h('select', { id: 'act-status', 'aria-keyshortcuts': 's', onchange: () => pickTemplateFor(statusSel.value) },
      h('option', { value: '' }, t('act.keepStatus', { status: t(`status.${r.status}`) })),
      transitions.map((s) => h('option', { value: s }, t(`status.${s}`))));
    const note = h('textarea', { id: 'act-note', maxlength: NOTE_MAX, rows: 4, 'aria-describedby': 'act-note-hint' });
    const tplSel = h('select', { id: 'act-template', 'aria-keyshortcuts': 't', onchange: () => previewTemplate(tplSel.value) }, h('option', { value: '' }, t('tpl.none')));
    const preview = h('div', { id: 'tpl-preview', class: 'preview', hidden: true, 'aria-live': 'polite' });
    const useTpl = h('button', {
      type: 'button', class: 'secondary', id: 'tpl-use', hidden: true,
      onclick: () => { note.value = preview.dataset.text || ''; note.dispatchEvent(new Event('input')); note.focus(); },
    }, t('tpl.use'));
    loadTemplates(r, svc, tplSel);

    const colleagues = (ctx.colleagues || []).filter((c) => c.role !== 'supervisor' || c.id === me().id);
    const deptId = typeof r.department === 'object' ? r.department?.id : r.department;
    const assignSel = h('select', { id: 'act-assignee' },
      h('option', { value: '' }, t('act.keepAssignee')),
      h('option', { value: me().id }, t('filter.me')),
      colleagues.filter((c) => c.id !== me().id && (!deptId || (c.departments || []).includes(deptId))).map((c) => h('option', { value: c.id }, c.name)));
    const prioSel = h('select', { id: 'act-priority' }, h('option', { value: '' }, t('act.keepPriority')), PRIORITIES.map((p) => h('option', { value: p }, t(`priority.${p}`))));

    const save = async () => {
      const body = {};
      if (statusSel.value) body.status = statusSel.value;
      const text = note.value.trim();
      if (assignSel.value && assignSel.value !== r.assignee?.id) body.assignee = assignSel.value;
      if (prioSel.value && prioSel.value !== r.priority) body.priority = prioSel.value;
      if (!Object.keys(body).length && !text) { say(t('act.nothing'), 'warn'); return; }
      if (text && !body.status) {
        // a public note without a status change is a public comment event
        if (Object.keys(body).length && !(await patch(body))) return;
        await addNote(text, true, { next: true });
        return;
      }
      if (text) body.status_note = text;
      await patch(body, { next: true });
    };
    st.save = save;

    const internal = h('textarea', { id: 'act-internal', maxlength: NOTE_MAX, rows: 3, 'aria-keyshortcuts': 'n' });
    const services = (ctx.catalogue?.services || []).filter((s) => s.active !== false && s.code !== svc.code);
    const reroute = h('select', { id: 'act-service' }, h('option', { value: '' }, t('reroute.choose')),
      services.map((s) => h('option', { value: s.id }, `${nameOf(s, L)} — ${nameOf(ctx.catalogue.deptById.get(s.department), L)}`)));
    const dupNumber = h('input', { type: 'text', id: 'dup-number', autocomplete: 'off', 'aria-describedby': 'dup-hint' });
    const dupStatus = h('select', { id: 'dup-status' }, ['resolved', 'rejected'].filter((s) => transitions.includes(s)).map((s) => h('option', { value: s }, t(`status.${s}`))));

    return h('section', { class: 'panel', id: 'actions', 'aria-labelledby': 'actions-title' },
      h('h3', { id: 'actions-title' }, t('act.title')),
      h('form', { id: 'act-form', onsubmit: (e) => { e.preventDefault(); save(); } },
        h('div', { class: 'row2' },
          h('div', {}, h('label', { for: 'act-status' }, t('act.status')), statusSel),
          h('div', {}, h('label', { for: 'act-assignee' }, t('act.assignee')), assignSel),
          h('div', {}, h('label', { for: 'act-priority' }, t('act.priority')), prioSel)),
        h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'secondary', id: 'assign-me', 'aria-keyshortcuts': 'a', onclick: () => patch({ assignee: me().id }) }, t('act.assignMe')),
          r.status === 'resolved' ? h('button', { type: 'button', class: 'secondary', id: 'reopen', onclick: () => patch({ status: 'in_progress', ...(note.value.trim() ? { status_note: note.value.trim() } : {}) }) }, t('act.reopen')) : null),
        h('label', { for: 'act-template' }, t('tpl.label', { lang: d.citizen?.lang || t('tpl.cityLang') })), tplSel, preview, useTpl,
        h('label', { for: 'act-note' }, t('act.publicNote')),
        h('p', { class: 'hint', id: 'act-note-hint' }, t('act.publicNoteHint')), note, counter(note),
        h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'act-save', 'aria-keyshortcuts': 'Control+Enter' }, t('act.save')),
          h('span', { class: 'hint' }, t('act.saveHint')))),
      h('form', {
        id: 'internal-form',
        onsubmit: (e) => { e.preventDefault(); if (internal.value.trim()) addNote(internal.value.trim(), false); else say(t('note.empty'), 'warn'); },
      },
      h('label', { for: 'act-internal' }, t('act.internalNote')), internal, counter(internal),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'secondary', id: 'internal-add' }, t('act.addInternal')))),
      h('details', {}, h('summary', {}, t('reroute.title')),
        h('form', { id: 'reroute-form', onsubmit: (e) => { e.preventDefault(); if (reroute.value) patch({ service: reroute.value }, { next: true }); } },
          h('label', { for: 'act-service' }, t('reroute.label')), reroute, h('p', { class: 'hint' }, t('reroute.hint')),
          h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'secondary', id: 'reroute-save' }, t('reroute.save'))))),
      dupStatus.options.length ? h('details', {}, h('summary', {}, t('dup.title')),
        h('form', { id: 'dup-form', onsubmit: (e) => { e.preventDefault(); markDuplicate(dupNumber.value.trim(), dupStatus.value, note.value.trim()); } },
          h('label', { for: 'dup-number' }, t('dup.label')), h('p', { class: 'hint', id: 'dup-hint' }, t('dup.hint')), dupNumber,
          h('label', { for: 'dup-status' }, t('dup.status')), dupStatus,
          h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'secondary', id: 'dup-save' }, t('dup.save'))))) : null);
  }

  async function addNote(message, isPublic, { next = false } = {}) {
    try {
      await pb.collection('request_events').create({ request: id, type: 'comment', message, public: isPublic });
      say(isPublic ? t('note.publicAdded') : t('note.internalAdded'));
      if (!isPublic) document.getElementById('act-internal').value = '';
      if (next) ctx.saved(); else await reload();
    } catch (err) {
      say(errorText(err), 'bad');
    }
  }

  async function markDuplicate(number, status, noteText) {
    if (!number) { say(t('dup.needNumber'), 'warn'); return; }
    try {
      const r = await send('/api/staff/queue', { query: { q: number, tab: 'open', limit: 1 } });
      let orig = (r.items || [])[0];
      if (!orig) {
        const f = await send(`/api/staff/requests/by-number/${encodeURIComponent(number)}`).catch(() => null);
        orig = f?.request;
      }
      if (!orig) { say(t('dup.notFound', { number }), 'bad'); return; }
      if (orig.id === id) { say(t('dup.self'), 'bad'); return; }
      await patch({ duplicate_of: orig.id, status, status_note: noteText || t('dup.defaultNote', { number: orig.number }) }, { next: true });
    } catch (err) {
      say(errorText(err), 'bad');
    }
  }

  // --- templates ---
  async function loadTemplates(r, svc, sel) {
    try {
      const sid = ctx.catalogue?.services.find((s) => s.code === svc.code)?.id || (typeof r.service === 'string' ? r.service : svc.id);
      const list = await pb.collection('response_templates').getFullList({ filter: pb.filter('service = {:s} || service = ""', { s: sid || '' }), sort: 'title', batch: 200 });
      // one entry per template (translations share a key), in the clerk's language when there is one
      const fam = new Map();
      for (const tp of list) {
        const k = tp.key || `${tp.service}|${tp.status}|${tp.title}`;
        if (!fam.has(k) || tp.lang === L) fam.set(k, tp);
      }
      st.templates = [...fam.values()];
      sel.append(...st.templates.map((tp) => h('option', { value: tp.id, 'data-status': tp.status || '' }, tp.status ? `${tp.title} (${t(`status.${tp.status}`)})` : tp.title)));
    } catch {
      sel.append(h('option', { value: '', disabled: true }, t('tpl.unavailable')));
    }
  }
  function pickTemplateFor(status) {
    const note = document.getElementById('act-note');
    if (!status || note.value.trim()) return;
    const tp = st.templates.find((x) => x.status === status);
    if (tp) { document.getElementById('act-template').value = tp.id; previewTemplate(tp.id); }
  }
  async function previewTemplate(tid) {
    const preview = document.getElementById('tpl-preview');
    const use = document.getElementById('tpl-use');
    if (!tid) { preview.hidden = true; use.hidden = true; return; }
    preview.hidden = false;
    preview.textContent = t('loading');
    try {
      const r = await send('/api/staff/templates/render', { method: 'POST', body: { template: tid, request: id } });
      preview.replaceChildren(h('span', { class: 'sr-only' }, t('tpl.previewIn', { lang: r.lang })), h('span', { lang: r.lang }, r.text));
      preview.dataset.text = r.text;
      preview.setAttribute('lang', r.lang);
      use.hidden = false;
    } catch (err) {
      preview.textContent = errorText(err);
      use.hidden = true;
    }
  }

  draw(ctx.focus);
  const clock = setInterval(() => {
    const el = document.getElementById('sla');
    if (el && st.data) { const s = slaText(st.data.request); el.textContent = s.text; el.classList.toggle('late', s.late); }
  }, 30000);

  return {
    shortcut(action) {
      const focus = (sel) => { const el = document.getElementById(sel); if (!el) return false; el.focus(); return true; };
      switch (action) {
        case 'assignMe': patch({ assignee: me().id }); return true;
        case 'status': return focus('act-status');
        case 'template': return focus('act-template');
        case 'note': return focus('act-internal');
        case 'save': {
          const active = document.activeElement;
          if (active?.id === 'act-internal') { active.form.requestSubmit(); return true; }
          st.save?.();
          return true;
        }
        default: return false;
      }
    },
    changedElsewhere(rec) {
      if (rec.updated === st.updated) return;
      changed.hidden = false;
      changed.replaceChildren(h('p', {}, t('guard.liveChanged')),
        h('button', { type: 'button', class: 'secondary', id: 'changed-reload', onclick: () => { changed.hidden = true; reload(); } }, t('guard.reload')));
    },
    destroy() { st.destroyed = true; clearInterval(clock); },
  };
}
