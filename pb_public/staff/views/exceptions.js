// Supervisor: statement exceptions (docs/payments.md §6 "Exceptions") — bank
// lines that did not simply pay a fee: partial, over, unknown reference, after
// expiry, a fee not open, another currency, an unmatched reversal, a duplicate.
// Each is resolved with POST /api/payments/exceptions/{id}/resolve: match to a
// fee (found by its reference or its request's number), mark for refund (a note
// is required), or accept.
import { pb, send } from '../api.js';
import { t, fmtDate } from '../i18n.js';
import { h, announce } from '/app/dom.js';
import { money, showErrors, clearErrors, errorBox, subnav } from './money.js';

const PAGE = 50;
const BOOKED = ['partial', 'over']; // their money is already on the fee's ledger

/** actionsFor lists the resolutions a line allows (the server checks again). */
export function actionsFor(entry) {
  const out = [];
  if (!BOOKED.includes(entry.exception) && entry.direction !== 'DBIT') out.push('match');
  out.push('refund', 'accept');
  return out;
}

/** render draws the exceptions view. */
export async function render(main, params) {
  const show = h('select', { id: 'exc-show', onchange: () => load(false) },
    h('option', { value: 'open' }, t('exc.showOpen')), h('option', { value: 'resolved' }, t('exc.showResolved')));
  const rows = h('tbody', { id: 'exc-rows' });
  const status = h('p', { id: 'exc-status', role: 'status', class: 'hint' });
  const more = h('button', { type: 'button', class: 'secondary', id: 'exc-more', hidden: true, onclick: () => load(true) }, t('pay.more'));
  const panel = h('section', { id: 'exc-panel', class: 'panel', hidden: true, 'aria-labelledby': 'exc-panel-title' });
  const head = h('tr', {});
  let page = 0;
  let entries = new Map();

  function columns(resolved) {
    const keys = ['exc.col.booked', 'exc.col.amount', 'exc.col.kind', 'exc.col.reference', 'exc.col.payer', 'exc.col.fee', resolved ? 'exc.col.resolution' : 'exc.col.action'];
    head.replaceChildren(...keys.map((k) => h('th', { scope: 'col' }, t(k))));
  }

  async function load(append) {
    const resolved = show.value === 'resolved';
    columns(resolved);
    status.textContent = t('loading');
    try {
      page = append ? page + 1 : 1;
      const filter = resolved ? "outcome = 'exception' && resolution != ''" : "outcome = 'exception' && resolution = ''";
      const r = await pb.collection('bank_entries').getList(page, PAGE, { filter, sort: resolved ? '-resolved_at' : '-booked_at', skipTotal: true, expand: 'fee.request' });
      if (!append) entries = new Map();
      const trs = r.items.map((e) => {
        entries.set(e.id, e);
        const fee = e.expand?.fee;
        const req = fee?.expand?.request;
        return h('tr', { 'data-id': e.id, 'data-exception': e.exception },
          h('td', {}, fmtDate(e.booked_at, false)),
          h('td', {}, money(e.direction === 'DBIT' ? -e.amount : e.amount, e.currency)),
          h('th', { scope: 'row' }, t(`exc.${e.exception}`)),
          h('td', { class: 'mono' }, e.reference || e.remittance || '—'),
          h('td', {}, e.debtor_name || ''),
          h('td', {}, req ? h('a', { href: `#/queue/open/${req.id}` }, req.number) : fee ? fee.reference : '—'),
          h('td', {}, resolved
            ? [t(`resolution.${e.resolution}`), e.resolution_note ? ` — ${e.resolution_note}` : '', e.resolved_at ? ` · ${fmtDate(e.resolved_at)}` : '']
            : h('button', { type: 'button', class: 'secondary exc-resolve', id: `exc-resolve-${e.id}`, 'data-id': e.id, onclick: () => openPanel(e) }, t('exc.resolve', { amount: money(e.amount, e.currency) }))));
      });
      if (append) rows.append(...trs); else rows.replaceChildren(...trs);
      more.hidden = r.items.length < PAGE;
      status.textContent = rows.children.length ? '' : (resolved ? t('exc.noneResolved') : t('exc.none'));
    } catch (ex) {
      status.textContent = ex?.message || String(ex);
    }
  }

  function openPanel(entry) {
    const allowed = actionsFor(entry);
    const err = errorBox('exc-error');
    const title = h('h2', { id: 'exc-panel-title', tabindex: '-1' }, t('exc.panelTitle', { amount: money(entry.amount, entry.currency), kind: t(`exc.${entry.exception}`) }));
    const radios = allowed.map((a, i) => h('label', { class: 'choice' },
      h('input', { type: 'radio', name: 'exc-action', value: a, id: `exc-action-${a}`, checked: i === 0, onchange: () => sync() }), t(`exc.action.${a}`)));
    const actionSet = h('fieldset', { id: 'exc-actions' }, h('legend', {}, t('exc.what')), radios);
    const find = h('input', { type: 'text', id: 'exc-find', autocomplete: 'off', value: entry.reference || '', 'aria-describedby': 'exc-find-hint' });
    const found = h('div', { id: 'exc-found', 'aria-live': 'polite' });
    const note = h('textarea', { id: 'exc-note', maxlength: 500, rows: 2, 'aria-describedby': 'exc-note-hint' });
    const noteHint = h('p', { class: 'hint', id: 'exc-note-hint' });
    const matchBox = h('div', { id: 'exc-match' },
      h('label', { for: 'exc-find' }, t('exc.find')), h('p', { class: 'hint', id: 'exc-find-hint' }, t('exc.findHint')),
      h('div', { class: 'actions' }, find, h('button', { type: 'button', class: 'secondary', id: 'exc-find-go', onclick: () => search() }, t('exc.findGo'))),
      found);
    // the fee radios carry the fee id; the server names `fee` when none or a wrong one is given
    const feeField = () => found.querySelector('input[name="exc-fee"]:checked') || found.querySelector('input[name="exc-fee"]') || find;
    const action = () => panel.querySelector('input[name="exc-action"]:checked')?.value;
    function sync() {
      const a = action();
      matchBox.hidden = a !== 'match';
      noteHint.textContent = a === 'refund' ? t('exc.noteRequired') : t('exc.noteOptional');
    }
    async function search() {
      const q = find.value.replace(/\s+/g, '').toUpperCase();
      if (!q) { found.replaceChildren(h('p', { class: 'err' }, t('exc.findEmpty'))); return; }
      found.replaceChildren(h('p', {}, t('loading')));
      try {
        const r = await pb.collection('fees').getList(1, 10, { filter: pb.filter('reference = {:q} || request.number = {:q}', { q }), expand: 'request', skipTotal: true });
        if (!r.items.length) { found.replaceChildren(h('p', { class: 'err', id: 'exc-found-none' }, t('exc.findNone', { q }))); return; }
        found.replaceChildren(h('fieldset', {}, h('legend', {}, t('exc.pickFee')), r.items.map((f, i) => h('label', { class: 'choice' },
          h('input', { type: 'radio', name: 'exc-fee', value: f.id, id: `exc-fee-${f.id}`, checked: i === 0 }),
          [f.expand?.request?.number, f.reference, money(f.amount, f.currency), t(`fee.state.${f.state}`)].filter(Boolean).join(' · ')))));
        announce(t('exc.foundN', { n: r.items.length }));
      } catch (ex) {
        found.replaceChildren(h('p', { class: 'err' }, ex?.message || String(ex)));
      }
    }
    const submit = async (e) => {
      e.preventDefault();
      const fields = { note, action: actionSet, fee: feeField() };
      clearErrors(err, fields);
      const a = action();
      const body = { action: a, note: note.value.trim() };
      if (a === 'match') body.fee = found.querySelector('input[name="exc-fee"]:checked')?.value || '';
      try {
        await send(`/api/payments/exceptions/${entry.id}/resolve`, { method: 'POST', body });
        panel.hidden = true;
        const text = t('exc.resolved', { amount: money(entry.amount, entry.currency), how: t(`exc.action.${a}`) });
        await load(false);
        status.textContent = text;
        announce(text);
        (rows.querySelector('button.exc-resolve') || show).focus();
      } catch (ex) {
        showErrors(err, ex, fields);
      }
    };
    panel.replaceChildren(title,
      h('dl', {},
        h('dt', {}, t('exc.col.booked')), h('dd', {}, fmtDate(entry.booked_at)),
        h('dt', {}, t('exc.col.amount')), h('dd', {}, money(entry.amount, entry.currency), entry.direction === 'DBIT' ? ` (${t('exc.debit')})` : ''),
        h('dt', {}, t('exc.about')), h('dd', {}, t(`exc.${entry.exception}.about`)),
        h('dt', {}, t('exc.col.reference')), h('dd', { class: 'mono' }, entry.reference || '—'),
        entry.remittance ? [h('dt', {}, t('exc.remittance')), h('dd', {}, entry.remittance)] : null,
        h('dt', {}, t('exc.col.payer')), h('dd', {}, [entry.debtor_name, entry.debtor_iban].filter(Boolean).join(' · ') || '—'),
        h('dt', {}, t('exc.bankRef')), h('dd', { class: 'mono' }, entry.acct_svcr_ref || '—')),
      h('form', { id: 'exc-form', novalidate: true, onsubmit: submit }, err, actionSet, matchBox,
        h('label', { for: 'exc-note' }, t('exc.note')), noteHint, note,
        h('div', { class: 'actions' },
          h('button', { type: 'submit', id: 'exc-submit' }, t('exc.submit')),
          h('button', { type: 'button', class: 'secondary', id: 'exc-cancel', onclick: () => { panel.hidden = true; rows.querySelector(`button[data-id="${entry.id}"]`)?.focus(); } }, t('exc.cancel')))));
    sync();
    panel.hidden = false;
    title.focus();
  }

  main.replaceChildren(h('h1', { tabindex: '-1' }, t('exc.title')), subnav('exceptions'),
    h('p', { class: 'hint' }, t('exc.intro')),
    h('div', { class: 'row2' }, h('div', {}, h('label', { for: 'exc-show' }, t('exc.show')), show)),
    h('div', { class: 'table-wrap' }, h('table', { id: 'exc-list' }, h('caption', { class: 'sr-only' }, t('exc.title')), h('thead', {}, head), rows)),
    status, more, panel);
  await load(false);
  if (params?.id && entries.has(params.id)) openPanel(entries.get(params.id));
  return {};
}
