// Pay: the fee of one request, from what pull delivered (works offline). The
// payment code is the server's PNG cached in IndexedDB; every value is also
// text a screen reader reads and a button copies. The app never computes an
// amount: without a fee from the server it says "fee to be confirmed".
import { h, announce } from '../dom.js';
import { t, fmtDate, fmtMoney } from '../i18n.js';
import { get, getAll } from '../db.js';
import { serviceName, serviceOf } from './requests.js';
import { cardSection, pagopaSection } from './paycard.js';

let urls = [];

function copyButton(id, value, label) {
  return h('button', {
    type: 'button', class: 'secondary copy', id: `copy-${id}`, 'aria-label': t('pay.copyLabel', { what: label }),
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(value);
        announce(t('pay.copied', { what: label }));
      } catch {
        announce(t('pay.copyFailed'));
      }
    },
  }, t('pay.copy'));
}

/** payView shows the fee, its state and how to pay it. */
export async function payView(id) {
  for (const u of urls) URL.revokeObjectURL(u);
  urls = [];
  const row = await get('requests', id);
  const back = h('p', {}, h('a', { href: `/requests/${encodeURIComponent(id)}` }, t('pay.back')));
  if (!row) return h('section', {}, h('h1', {}, t('pay.title')), h('p', {}, t('req.notFound')), back);
  const fees = await getAll('fees', 'request', id);
  const fee = fees[0];
  const svc = serviceOf(row);
  const section = h('section', { id: 'pay' }, back, h('h1', {}, t('pay.title')), h('p', { class: 'muted' }, `${serviceName(row)} — ${row.number || t('req.pendingNumber')}`));
  if (!fee) {
    const hasFee = row._local ? (svc && svc.feeMode !== 'none' && (svc.fee || svc.feeMode === 'assessed')) : (svc && svc.feeMode === 'assessed') || row.fee;
    section.append(h('p', { class: 'note', id: 'fee-tbc' }, t(hasFee ? 'pay.toBeConfirmed' : 'pay.noFee')));
    return section;
  }
  const ins = fee.instruction || {};
  const state = h('p', { id: 'fee-state', class: `badge fee-${fee.state}` }, t(`pay.state.${fee.state}`));
  const facts = h('dl', { class: 'facts', id: 'fee-facts' },
    h('dt', {}, t('pay.amount')), h('dd', { id: 'fee-amount' }, fmtMoney(fee.amount, fee.currency)),
    fee.paid_amount && fee.paid_amount !== fee.amount ? [h('dt', {}, t('pay.paidSoFar')), h('dd', {}, fmtMoney(fee.paid_amount, fee.currency))] : null,
    fee.due_at && ['due', 'pending'].includes(fee.state) ? [h('dt', {}, t('pay.dueBy')), h('dd', {}, fmtDate(fee.due_at, false))] : null,
    fee.paid_at ? [h('dt', {}, t('pay.paidOn')), h('dd', {}, fmtDate(fee.paid_at, false))] : null);
  section.append(state, facts);
  if (fee.state === 'paid' || fee.state === 'refunded') {
    section.append(h('p', { class: 'note ok' }, t(fee.state === 'paid' ? 'pay.paidNote' : 'pay.refundedNote')), h('p', {}, h('a', { href: '/receipts' }, t('pay.receipts'))));
    return section;
  }
  if (fee.state === 'waived') {
    section.append(h('p', { class: 'note ok' }, t('pay.waivedNote')));
    return section;
  }
  if (fee.state === 'expired') section.append(h('p', { class: 'note warn' }, t('pay.expiredNote')));
  if (fee.state === 'pending') section.append(h('p', { class: 'note' }, t('pay.pendingNote')));

  const card = await cardSection(fee); // a platform's pay button, where the city has one
  if (card) section.append(card);
  // the payment code: the cached PNG; its text alternative is the list below
  if (ins.qr) {
    const qr = await get('qr', `fee:${fee.id}:${fee.updated || ''}`);
    if (qr && qr.data) {
      const u = URL.createObjectURL(new Blob([qr.data], { type: qr.type }));
      urls.push(u);
      section.append(h('h2', {}, t(`pay.qr.${ins.qrKind}`)), h('p', { class: 'hint', id: 'qr-hint' }, t('pay.qrHint')),
        h('img', { class: 'qr', id: 'fee-qr', src: u, width: 280, height: 280, 'aria-describedby': 'qr-hint fee-details',
          alt: t('pay.qrAlt', { amount: fmtMoney(fee.amount, fee.currency), creditor: ins.creditor || '', reference: ins.referencePrinted || fee.reference }) }));
    } else {
      section.append(h('p', { class: 'note warn', id: 'qr-offline' }, t('pay.qrOffline')));
    }
  }
  if (ins.rail === 'pagopa') {
    section.append(await pagopaSection(fee, ins));
    return section;
  }
  const line = (key, label, value, copy) => value ? [h('dt', {}, label), h('dd', {}, h('span', { id: `pay-${key}`, class: 'copyable' }, value), copy ? [' ', copyButton(key, copy, label)] : null)] : null;
  section.append(h('h2', {}, t('pay.byTransfer')),
    h('dl', { class: 'facts', id: 'fee-details' },
      line('creditor', t('pay.creditor'), ins.creditor),
      line('iban', 'IBAN', ins.iban, (ins.iban || '').replace(/ /g, '')),
      line('bic', 'BIC', ins.bic),
      line('bankgiro', 'Bankgiro', ins.bankgiro, ins.bankgiro),
      line('swish', 'Swish', ins.swish, ins.swish),
      line('sortcode', t('pay.sortCode'), ins.sortCode, ins.sortCode),
      line('account', t('pay.accountNumber'), ins.accountNumber, ins.accountNumber),
      line('amount', t('pay.amount'), ins.amountText ? `${ins.currency} ${ins.amountText}` : '', ins.amountText),
      line('reference', t('pay.reference'), ins.referencePrinted || fee.reference, fee.reference)),
    h('p', { class: 'hint' }, t('pay.referenceHint')));
  return section;
}
