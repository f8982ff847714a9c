// The fee panel of the request file (docs/payments.md §3, §8): the fee's state,
// amount, reference, due and expiry dates, its ledger, the payment receipts (each
// opens in /verify/), and the actions the routes offer — a clerk assesses the fee
// of an "assessed" service; a supervisor waives (reason required), records a
// refund, reopens an expired or waived fee. The server decides; its 4xx answers
// appear next to the field they name.
import { pb, isSupervisor, send } from '../api.js';
import { t, has, fmtDate } from '../i18n.js';
import { h, announce } from '/app/dom.js';
import { money, amountInput, showErrors, clearErrors, errorBox } from './money.js';
import { platforms, platformName, attemptState, testBadges, feePlatforms } from './platforms.js';

const STATES = ['due', 'pending', 'paid', 'refunded', 'expired', 'waived'];
const CARD_PLATFORMS = ['govukpay', 'stripe']; // refund through their API (docs/payments.md §12.6)

/** newKey is an idempotency key for one refund form: a retried click books once. */
const newKey = () => (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2));

/**
 * renderFee fills box with the fee panel of request (the file's request object)
 * and returns nothing; reload() redraws the whole file after an action.
 */
export async function renderFee(box, { request, receipts = [], service = null, reload }) {
  const id = request.id;
  box.replaceChildren(h('p', { role: 'status' }, t('loading')));
  let fee = null;
  let ledger = [];
  try {
    const list = await pb.collection('fees').getList(1, 1, { filter: pb.filter('request = {:r}', { r: id }), skipTotal: true });
    fee = list.items[0] || null;
    if (fee) ledger = await pb.collection('fee_ledger').getFullList({ filter: pb.filter('fee = {:f}', { f: fee.id }), sort: 'created', batch: 200 });
  } catch (err) {
    box.replaceChildren(h('p', { class: 'note bad' }, t('fee.loadFailed'), ' ', err?.message || ''));
    return;
  }
  // the fee's platform attempts (card, pagoPA): their own failure does not hide the fee
  let attempts = [];
  let attemptsFailed = null;
  if (fee) {
    try {
      attempts = (await pb.collection('payment_attempts').getList(1, 50, { filter: pb.filter('fee = {:f}', { f: fee.id }), sort: '-created', skipTotal: true })).items;
    } catch (err) { attemptsFailed = err; }
  }
  const info = fee ? await platforms() : null;
  const payReceipts = receipts.filter((r) => r.kind === 'payment' || r.kind === 'refund');
  const parts = [];

  if (!fee) {
    const assessed = service?.fee_mode === 'assessed';
    parts.push(h('p', { id: 'fee-none', class: 'muted' }, assessed ? t('fee.toAssess') : t('fee.none')));
    if (assessed) parts.push(assessForm(id, service, reload));
    box.replaceChildren(...parts);
    return;
  }

  const state = STATES.includes(fee.state) ? fee.state : 'due';
  const badges = testBadges(info, feePlatforms(info, fee, attempts));
  if (badges) parts.push(badges);
  const ins = fee.instruction || {};
  const open = Math.max(0, fee.amount - (fee.paid_amount || 0));
  parts.push(h('dl', { id: 'fee-facts' },
    h('dt', {}, t('fee.state')), h('dd', {}, h('span', { class: `status fee-${state}`, id: 'fee-state', 'data-state': state }, t(`fee.state.${state}`))),
    h('dt', {}, t('fee.amount')), h('dd', { id: 'fee-amount' }, money(fee.amount, fee.currency), ` (${fee.currency})`),
    fee.paid_amount ? [h('dt', {}, t('fee.paidAmount')), h('dd', { id: 'fee-paid' }, money(fee.paid_amount, fee.currency))] : null,
    fee.refunded_amount ? [h('dt', {}, t('fee.refunded')), h('dd', { id: 'fee-refunded' }, money(fee.refunded_amount, fee.currency))] : null,
    state === 'due' && fee.paid_amount && open ? [h('dt', {}, t('fee.open')), h('dd', {}, money(open, fee.currency))] : null,
    h('dt', {}, t('fee.reference')), h('dd', { id: 'fee-reference', class: 'mono' }, ins.referencePrinted || fee.reference),
    ins.rail ? [h('dt', {}, t('fee.rail')), h('dd', {}, has(`rail.${ins.rail}`) ? t(`rail.${ins.rail}`) : ins.rail)] : null,
    h('dt', {}, t('fee.dueAt')), h('dd', {}, fee.due_at ? fmtDate(fee.due_at) : t('due.none')),
    fee.paid_at ? [h('dt', {}, t('fee.paidAt')), h('dd', {}, fmtDate(fee.paid_at))] : null,
    fee.expired_at ? [h('dt', {}, t('fee.expiredAt')), h('dd', {}, fmtDate(fee.expired_at))] : null,
    fee.pending_since ? [h('dt', {}, t('fee.pendingSince')), h('dd', {}, fmtDate(fee.pending_since))] : null,
    fee.waived_at ? [h('dt', {}, t('fee.waivedAt')), h('dd', {}, fmtDate(fee.waived_at), fee.waived_reason ? ` — ${fee.waived_reason}` : '')] : null));

  // the ledger: every credit, refund and adjustment, oldest first
  parts.push(h('h4', { id: 'fee-ledger-title' }, t('fee.ledger')));
  parts.push(ledger.length
    ? h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': 'fee-ledger-title' }, h('table', { id: 'fee-ledger' },
      h('caption', { class: 'sr-only' }, t('fee.ledgerCaption', { reference: fee.reference })),
      h('thead', {}, h('tr', {}, ['fee.col.booked', 'fee.col.kind', 'fee.col.amount', 'fee.col.source', 'fee.col.evidence', 'fee.col.note'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, ledger.map((l) => h('tr', { 'data-kind': l.kind },
        h('td', {}, fmtDate(l.booked_at || l.created)),
        h('th', { scope: 'row' }, has(`ledger.${l.kind}`) ? t(`ledger.${l.kind}`) : l.kind),
        h('td', {}, money(l.kind === 'refund' ? -l.amount : l.amount, l.currency)),
        h('td', {}, [l.source && has(`ledger.source.${l.source}`) ? t(`ledger.source.${l.source}`) : l.source, l.method && has(`method.${l.method}`) ? t(`method.${l.method}`) : l.method].filter(Boolean).join(' · ')),
        h('td', { class: 'mono' }, l.evidence || ''),
        h('td', {}, l.note || ''))))))
    : h('p', { class: 'muted', id: 'fee-ledger-empty' }, t('fee.noLedger')));

  // platform attempts, newest first
  parts.push(h('h4', { id: 'fee-attempts-title' }, t('fee.attempts')));
  if (attemptsFailed) parts.push(h('p', { class: 'note bad', id: 'fee-attempts-failed' }, t('fee.attemptsFailed'), ' ', attemptsFailed?.message || ''));
  else if (!attempts.length) parts.push(h('p', { class: 'muted', id: 'fee-attempts-empty' }, t('fee.noAttempts')));
  else parts.push(attemptsTable(fee, attempts));

  // payment receipts: each opens the public verifier with its code
  parts.push(h('h4', {}, t('fee.receipts')));
  parts.push(payReceipts.length
    ? h('ul', { id: 'fee-receipts' }, payReceipts.map((rc) => h('li', {},
      has(`receipt.${rc.kind}`) ? t(`receipt.${rc.kind}`) : rc.kind, ' · ', fmtDate(rc.issued_at), rc.revoked ? ` · ${t('fee.revoked')}` : '', ' · ',
      h('a', { href: `/verify/#code=${encodeURIComponent(rc.code)}`, target: '_blank', rel: 'noopener', class: 'verify-link' }, t('fee.verify')))))
    : h('p', { class: 'muted' }, t('fee.noReceipts')));

  if (isSupervisor()) {
    const received = (ledger.filter((l) => l.kind === 'credit').reduce((s, l) => s + l.amount, 0)) - (fee.refunded_amount || 0);
    if (['due', 'pending', 'expired'].includes(state)) parts.push(waiveForm(fee, reload));
    if (received > 0) parts.push(refundForm(fee, received, reload));
    if (['expired', 'waived'].includes(state)) parts.push(reopenForm(fee, reload));
    for (const a of attempts) {
      // pagoPA has no refund API: its money goes back by transfer (Record a refund)
      if (a.state === 'succeeded' && CARD_PLATFORMS.includes(a.provider) && a.amount - (a.refunded || 0) > 0) parts.push(attemptRefundForm(a, reload));
    }
  }
  box.replaceChildren(...parts);
}

/** attemptsTable lists a fee's platform attempts (docs/payments.md §12.1). */
function attemptsTable(fee, attempts) {
  const cols = ['fee.att.provider', 'fee.att.state', 'fee.att.ref', 'fee.att.amount', 'fee.att.refunded', 'fee.att.when'];
  // a narrow panel scrolls the table sideways: the region takes the focus so a keyboard can scroll it
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': 'fee-attempts-title' }, h('table', { id: 'fee-attempts' },
    h('caption', { class: 'sr-only' }, t('fee.attemptsCaption', { reference: fee.reference })),
    h('thead', {}, h('tr', {}, cols.map((k) => h('th', { scope: 'col' }, t(k))))),
    h('tbody', {}, attempts.map((a) => h('tr', { 'data-id': a.id, 'data-state': a.state, 'data-provider': a.provider },
      h('th', { scope: 'row' }, platformName(a.provider)),
      h('td', {}, h('span', { class: `status att-${a.state}` }, attemptState(a.state)), a.failure_code ? ` (${a.failure_code})` : ''),
      h('td', { class: 'mono' }, a.provider_ref || '—'),
      h('td', {}, money(a.amount, a.currency)),
      h('td', {}, a.refunded ? money(a.refunded, a.currency) : '—'),
      h('td', {}, a.finished_at ? t('fee.att.finished', { at: fmtDate(a.finished_at) }) : a.expires_at ? t('fee.att.expires', { at: fmtDate(a.expires_at) }) : '—'))))));
}

/**
 * attemptRefundForm refunds a succeeded platform payment through its platform
 * (supervisors): POST /api/payments/attempts/{id}/refund, one idempotency key
 * per form so a retried click refunds once.
 */
function attemptRefundForm(a, reload) {
  const max = a.amount - (a.refunded || 0);
  const base = `att-refund-${a.id}`;
  const amount = h('input', { type: 'text', id: `${base}-amount`, inputmode: 'decimal', autocomplete: 'off', 'aria-describedby': `${base}-amount-hint` });
  const note = h('textarea', { id: `${base}-note`, maxlength: 500, rows: 2, required: true });
  const err = errorBox(`${base}-error`);
  const fields = { amount, note, key: note };
  let key = newKey();
  return h('details', { class: 'fee-action att-refund', id: base }, h('summary', { id: `${base}-toggle` }, t('fee.attRefund', { platform: platformName(a.provider), ref: a.provider_ref || a.id })),
    h('form', {
      id: `${base}-form`, novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        clearErrors(err, fields);
        const btn = e.target.querySelector('button[type=submit]');
        btn.disabled = true;
        try {
          await send(`/api/payments/attempts/${a.id}/refund`, { method: 'POST', body: { amount: amountInput(amount.value), note: note.value, key } });
          key = newKey();
          await done(t('fee.attRefunded', { platform: platformName(a.provider) }), reload);
        } catch (ex) {
          showErrors(err, ex, fields);
        } finally { btn.disabled = false; }
      },
    }, err,
    h('p', { class: 'hint' }, t('fee.attRefundHint', { max: money(max, a.currency), platform: platformName(a.provider) })),
    h('label', { for: `${base}-amount` }, t('fee.refundAmount', { currency: a.currency })), h('p', { class: 'hint', id: `${base}-amount-hint` }, t('fee.amountFormat')), amount,
    h('label', { for: `${base}-note` }, t('fee.attRefundNote')), note,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'secondary', id: `${base}-submit` }, t('fee.attRefundSubmit')))));
}

function done(text, reload) {
  announce(text);
  return reload(text);
}

function waiveForm(fee, reload) {
  const reason = h('textarea', { id: 'waive-reason', maxlength: 500, rows: 2, required: true, 'aria-describedby': 'waive-hint' });
  const err = errorBox('waive-error');
  const fields = { reason };
  return h('details', { class: 'fee-action', id: 'waive' }, h('summary', { id: 'waive-toggle' }, t('fee.waive')),
    h('form', {
      id: 'waive-form', novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        clearErrors(err, fields);
        const btn = e.target.querySelector('button[type=submit]');
        btn.disabled = true;
        try {
          // an empty reason goes to the server too: its 400 names the field
          await send(`/api/payments/fees/${fee.id}/waive`, { method: 'POST', body: { reason: reason.value } });
          await done(t('fee.waived'), reload);
        } catch (ex) {
          showErrors(err, ex, fields);
        } finally { btn.disabled = false; }
      },
    }, err,
    h('label', { for: 'waive-reason' }, t('fee.waiveReason')), h('p', { class: 'hint', id: 'waive-hint' }, t('fee.waiveHint')), reason,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'danger', id: 'waive-submit' }, t('fee.waiveSubmit')))));
}

function refundForm(fee, received, reload) {
  const amount = h('input', { type: 'text', id: 'refund-amount', inputmode: 'decimal', autocomplete: 'off', 'aria-describedby': 'refund-amount-hint' });
  const note = h('textarea', { id: 'refund-note', maxlength: 500, rows: 2, required: true });
  const evidence = h('input', { type: 'text', id: 'refund-evidence', maxlength: 200, autocomplete: 'off' });
  const err = errorBox('refund-error');
  const fields = { amount, note, evidence, key: evidence };
  let key = newKey();
  return h('details', { class: 'fee-action', id: 'refund' }, h('summary', { id: 'refund-toggle' }, t('fee.refund')),
    h('form', {
      id: 'refund-form', novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        clearErrors(err, fields);
        const btn = e.target.querySelector('button[type=submit]');
        btn.disabled = true;
        try {
          await send(`/api/payments/fees/${fee.id}/refund`, { method: 'POST', body: { amount: amountInput(amount.value), note: note.value, evidence: evidence.value.trim(), key } });
          key = newKey();
          await done(t('fee.refundRecorded'), reload);
        } catch (ex) {
          showErrors(err, ex, fields);
        } finally { btn.disabled = false; }
      },
    }, err,
    h('p', { class: 'hint' }, t('fee.refundHint', { max: money(received, fee.currency) })),
    h('label', { for: 'refund-amount' }, t('fee.refundAmount', { currency: fee.currency })), h('p', { class: 'hint', id: 'refund-amount-hint' }, t('fee.amountFormat')), amount,
    h('label', { for: 'refund-note' }, t('fee.refundNote')), note,
    h('label', { for: 'refund-evidence' }, t('fee.refundEvidence')), evidence,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'secondary', id: 'refund-submit' }, t('fee.refundSubmit')))));
}

function reopenForm(fee, reload) {
  const err = errorBox('reopen-error');
  return h('div', { class: 'actions', id: 'reopen' }, err, h('button', {
    type: 'button', class: 'secondary', id: 'reopen-fee',
    onclick: async () => {
      clearErrors(err);
      try {
        await send(`/api/payments/fees/${fee.id}/reopen`, { method: 'POST' });
        await done(t('fee.reopened'), reload);
      } catch (ex) { showErrors(err, ex); }
    },
  }, t('fee.reopen')));
}

function assessForm(requestId, service, reload) {
  const amount = h('input', { type: 'text', id: 'assess-amount', inputmode: 'decimal', autocomplete: 'off', 'aria-describedby': 'assess-hint' });
  const err = errorBox('assess-error');
  const fields = { amount, currency: amount };
  return h('form', {
    id: 'assess-form', novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      clearErrors(err, fields);
      try {
        await send(`/api/payments/requests/${requestId}/fee`, { method: 'POST', body: { amount: amountInput(amount.value) } });
        await done(t('fee.assessed'), reload);
      } catch (ex) { showErrors(err, ex, fields); }
    },
  }, err,
  h('label', { for: 'assess-amount' }, t('fee.assessAmount', { currency: service.currency || '' })), h('p', { class: 'hint', id: 'assess-hint' }, t('fee.amountFormat')), amount,
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'secondary', id: 'assess-submit' }, t('fee.assessSubmit'))));
}
