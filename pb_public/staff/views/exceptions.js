// Supervisor: statement exceptions (docs/payments.md §6 "Exceptions") — bank
// lines that did not simply pay a fee: partial, over, unknown reference, after
// expiry, a fee not open, another currency, an unmatched reversal, a duplicate.
// Each is resolved with POST /api/payments/exceptions/{id}/resolve: match to a
// fee (found by its reference or its request's number), mark for refund (a note
// is required), or accept. A platform's second payment (docs/payments.md §12.1:
// `provider` set, no statement) is also refunded through its platform
// (POST /api/payments/attempts/{id}/refund). Below: the webhook events the
// server parked, with their reason (§12.2).
import { pb, send } from '../api.js';
import { t, fmtDate } from '../i18n.js';
import { h, announce } from '/app/dom.js';
import { money, amountInput, showErrors, clearErrors, errorBox, subnav } from './money.js';
import { badgeSlot, platformName } from './platforms.js';

const PAGE = 50;
const BOOKED = ['partial', 'over']; // their money is already on the fee's ledger
const CARD_PLATFORMS = ['govukpay', 'stripe']; // refund through their API (docs/payments.md §12.6)

/** newKey is an idempotency key for one refund form: a retried click refunds once. */
const newKey = () => (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2));

/** minorText writes minor units as the server's amount parser reads them. */
const minorText = (minor) => (Number(minor || 0) / 100).toFixed(2);

/** kindText names an exception, and the platform of a platform payment. */
const kindText = (e) => (e.provider ? t('exc.onPlatform', { kind: t(`exc.${e.exception}`), platform: platformName(e.provider) }) : t(`exc.${e.exception}`));

/** refundable says whether a platform pays money back through its API (pagoPA does not: a bank transfer does). */
export const refundable = (provider) => CARD_PLATFORMS.includes(provider);

/** aboutText explains an exception in words, and for a platform's payment how it is paid back. */
const aboutText = (e) => (e.provider && ['duplicate', 'not_open'].includes(e.exception)
  ? `${t(`exc.platform.${e.exception}.about`, { platform: platformName(e.provider) })} ${t(refundable(e.provider) ? 'exc.platform.refundHow' : 'exc.platform.refundManual', { platform: platformName(e.provider) })}`
  : t(`exc.${e.exception}.about`));

/** actionsFor lists the resolutions a line allows (the server checks again). */
export function actionsFor(entry) {
  const out = [];
  // a platform's second payment goes back through the platform it came by
  if (entry.provider) return refundable(entry.provider) ? ['platform', 'refund', 'accept'] : ['refund', 'accept'];
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
          h('th', { scope: 'row' }, kindText(e)),
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
    const title = h('h2', { id: 'exc-panel-title', tabindex: '-1' }, t('exc.panelTitle', { amount: money(entry.amount, entry.currency), kind: kindText(entry) }));
    const radios = allowed.map((a, i) => h('label', { class: 'choice' },
      h('input', { type: 'radio', name: 'exc-action', value: a, id: `exc-action-${a}`, checked: i === 0, onchange: () => sync() }), t(`exc.action.${a}`)));
    const actionSet = h('fieldset', { id: 'exc-actions' }, h('legend', {}, t('exc.what')), radios);
    const find = h('input', { type: 'text', id: 'exc-find', autocomplete: 'off', value: entry.reference || '', 'aria-describedby': 'exc-find-hint' });
    const found = h('div', { id: 'exc-found', 'aria-live': 'polite' });
    const note = h('textarea', { id: 'exc-note', maxlength: 500, rows: 2, 'aria-describedby': 'exc-note-hint' });
    const noteHint = h('p', { class: 'hint', id: 'exc-note-hint' });
    // the platform refund: the whole second payment by default; one key per panel
    const refAmount = h('input', { type: 'text', id: 'exc-amount', inputmode: 'decimal', autocomplete: 'off', value: minorText(entry.amount), 'aria-describedby': 'exc-amount-hint' });
    const refundBox = h('div', { id: 'exc-platform', hidden: true },
      h('label', { for: 'exc-amount' }, t('fee.refundAmount', { currency: entry.currency })),
      h('p', { class: 'hint', id: 'exc-amount-hint' }, t('exc.platformAmountHint', { platform: platformName(entry.provider) })), refAmount);
    let key = newKey();
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
      refundBox.hidden = a !== 'platform';
      noteHint.textContent = a === 'refund' || a === 'platform' ? t('exc.noteRequired') : t('exc.noteOptional');
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
      const fields = { note, action: actionSet, fee: feeField(), amount: refAmount, key: note };
      clearErrors(err, fields);
      const a = action();
      const body = { action: a, note: note.value.trim() };
      if (a === 'match') body.fee = found.querySelector('input[name="exc-fee"]:checked')?.value || '';
      try {
        if (a === 'platform') {
          const att = await pb.collection('payment_attempts').getList(1, 1, { filter: pb.filter('provider = {:p} && provider_ref = {:r}', { p: entry.provider, r: entry.acct_svcr_ref }), skipTotal: true });
          if (!att.items.length) throw Object.assign(new Error(t('exc.noAttempt', { ref: entry.acct_svcr_ref || '—' })), { status: 0 });
          await send(`/api/payments/attempts/${att.items[0].id}/refund`, { method: 'POST', body: { amount: amountInput(refAmount.value), note: note.value, key } });
          key = newKey();
        } else {
          await send(`/api/payments/exceptions/${entry.id}/resolve`, { method: 'POST', body });
        }
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
        h('dt', {}, t('exc.about')), h('dd', { id: 'exc-about' }, aboutText(entry)),
        h('dt', {}, t('exc.col.reference')), h('dd', { class: 'mono' }, entry.reference || '—'),
        entry.remittance ? [h('dt', {}, t('exc.remittance')), h('dd', {}, entry.remittance)] : null,
        h('dt', {}, t('exc.col.payer')), h('dd', {}, [entry.debtor_name, entry.debtor_iban].filter(Boolean).join(' · ') || '—'),
        h('dt', {}, entry.provider ? t('exc.platformRef', { platform: platformName(entry.provider) }) : t('exc.bankRef')), h('dd', { class: 'mono' }, entry.acct_svcr_ref || '—')),
      h('form', { id: 'exc-form', novalidate: true, onsubmit: submit }, err, actionSet, matchBox, refundBox,
        h('label', { for: 'exc-note' }, t('exc.note')), noteHint, note,
        h('div', { class: 'actions' },
          h('button', { type: 'submit', id: 'exc-submit' }, t('exc.submit')),
          h('button', { type: 'button', class: 'secondary', id: 'exc-cancel', onclick: () => { panel.hidden = true; rows.querySelector(`button[data-id="${entry.id}"]`)?.focus(); } }, t('exc.cancel')))));
    sync();
    panel.hidden = false;
    title.focus();
  }

  // webhook events the server parked (unknown payment, amount differs, unknown type …)
  const parkedRows = h('tbody', { id: 'parked-rows' });
  const parkedStatus = h('p', { id: 'parked-status', role: 'status', class: 'hint' });
  async function loadParked() {
    parkedStatus.textContent = t('loading');
    try {
      const r = await pb.collection('payment_events').getList(1, PAGE, { filter: "status = 'parked'", sort: '-created', skipTotal: true });
      parkedRows.replaceChildren(...r.items.map((ev) => h('tr', { 'data-id': ev.id, 'data-provider': ev.provider },
        h('td', {}, fmtDate(ev.created)),
        h('td', {}, platformName(ev.provider)),
        h('th', { scope: 'row', class: 'mono' }, ev.event_id),
        h('td', {}, ev.type || '—'),
        h('td', { class: 'mono' }, ev.provider_ref || '—'),
        h('td', { class: 'parked-reason' }, ev.reason || '—'))));
      parkedStatus.textContent = r.items.length ? (r.items.length >= PAGE ? t('exc.parkedFirst', { n: PAGE }) : '') : t('exc.parkedNone');
    } catch (ex) {
      parkedStatus.textContent = ex?.message || String(ex);
    }
  }
  const parked = h('section', { id: 'parked', 'aria-labelledby': 'parked-title' },
    h('h2', { id: 'parked-title' }, t('exc.parkedTitle')), h('p', { class: 'hint' }, t('exc.parkedIntro')),
    h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': 'parked-title' }, h('table', { id: 'parked-list' }, h('caption', { class: 'sr-only' }, t('exc.parkedTitle')),
      h('thead', {}, h('tr', {}, ['exc.pcol.received', 'exc.pcol.platform', 'exc.pcol.event', 'exc.pcol.type', 'exc.pcol.ref', 'exc.pcol.reason'].map((k) => h('th', { scope: 'col' }, t(k))))),
      parkedRows)),
    parkedStatus);

  main.replaceChildren(h('h1', { tabindex: '-1' }, t('exc.title')), subnav('exceptions'), badgeSlot('exc-test-modes'),
    h('p', { class: 'hint' }, t('exc.intro')),
    h('div', { class: 'row2' }, h('div', {}, h('label', { for: 'exc-show' }, t('exc.show')), show)),
    h('div', { class: 'table-wrap' }, h('table', { id: 'exc-list' }, h('caption', { class: 'sr-only' }, t('exc.title')), h('thead', {}, head), rows)),
    status, more, panel, parked);
  await Promise.all([load(false), loadParked()]);
  if (params?.id && entries.has(params.id)) openPanel(entries.get(params.id));
  return {};
}
