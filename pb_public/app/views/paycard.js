// Paying through a platform (issue 15): the card button (GOV.UK Pay, Stripe)
// where the city offers one for the fee's currency, the pagoPA notice, and
// the return page. The return page never trusts its URL: it asks the server,
// which asks the platform, and says "we are confirming your payment" until
// the server knows. The last known answer is kept, so it reads offline.
import { h, announce } from '../dom.js';
import { t, fmtMoney } from '../i18n.js';
import { request, NetworkError } from '../api.js';
import { kick } from '../sync.js';

const PLATFORMS_KEY = 'civicdesk.platforms';
const RETURN_KEY = 'civicdesk.payreturn.';
const ATTEMPT_KEY = 'civicdesk.payattempt.';

/** platforms returns the city's platforms (cached for offline use). */
export async function platforms() {
  try {
    const r = await request('GET', '/api/payments/platforms', { auth: false });
    localStorage.setItem(PLATFORMS_KEY, JSON.stringify(r.data));
    return r.data;
  } catch {
    try { return JSON.parse(localStorage.getItem(PLATFORMS_KEY)) || {}; } catch { return {}; }
  }
}

const providerName = (p) => t(`pay.provider.${p}`);

/** cardSection is the "pay by card" block for an open fee, or null. */
export async function cardSection(fee) {
  if (!['due', 'pending'].includes(fee.state)) return null;
  const info = await platforms();
  const card = info.card && info.card[fee.currency];
  if (!card) return null;
  const status = h('p', { id: 'card-status', role: 'status', 'aria-live': 'polite' });
  const button = h('button', {
    type: 'button', id: 'pay-card', class: 'primary',
    onclick: async () => {
      if (!navigator.onLine) { status.textContent = t('pay.card.offline'); return; }
      button.disabled = true;
      status.textContent = t('pay.card.starting');
      try {
        const r = await request('POST', `/api/payments/fees/${encodeURIComponent(fee.id)}/attempts`, { body: { provider: card.provider } });
        localStorage.setItem(ATTEMPT_KEY + fee.id, JSON.stringify({ at: Date.now(), provider: card.provider }));
        location.assign(r.data.redirect);
      } catch (err) {
        button.disabled = false;
        status.textContent = err instanceof NetworkError ? t('pay.card.offline') : t('pay.card.failed', { error: err.message });
        announce(status.textContent);
      }
    },
  }, t('pay.card.button', { amount: fmtMoney(fee.amount - (fee.paid_amount || 0), fee.currency), provider: providerName(card.provider) }));
  const started = localStorage.getItem(ATTEMPT_KEY + fee.id);
  return h('section', { id: 'card', 'aria-labelledby': 'card-title' },
    h('h2', { id: 'card-title' }, t('pay.card.title')),
    card.mode === 'test' ? h('p', { class: 'note', id: 'card-test' }, t('pay.card.test')) : null,
    fee.state === 'pending' && started ? h('p', { class: 'note' }, t('pay.card.pending')) : null,
    navigator.onLine ? null : h('p', { class: 'note warn' }, t('pay.card.offline')),
    button, status);
}

/** pagopaSection shows the pagoPA notice (readable offline) and the online checkout. */
export async function pagopaSection(fee, ins) {
  const notice = (ins.referencePrinted || '').replace(/ /g, '');
  const info = await platforms();
  const rail = (info.rails && info.rails[fee.currency]) || {};
  const copy = h('button', {
    type: 'button', class: 'secondary copy', id: 'copy-notice', 'aria-label': t('pay.copyLabel', { what: t('pay.pagopa.notice') }),
    onclick: async () => {
      try { await navigator.clipboard.writeText(notice); announce(t('pay.copied', { what: t('pay.pagopa.notice') })); } catch { announce(t('pay.copyFailed')); }
    },
  }, t('pay.copy'));
  return h('section', { id: 'pagopa', 'aria-labelledby': 'pagopa-title' },
    h('h2', { id: 'pagopa-title' }, t('pay.pagopa.title')),
    h('dl', { class: 'facts', id: 'fee-details' },
      h('dt', {}, t('pay.creditor')), h('dd', { id: 'pay-creditor' }, ins.creditor || ''),
      h('dt', {}, t('pay.pagopa.notice')), h('dd', {}, h('span', { id: 'pay-notice', class: 'copyable' }, ins.referencePrinted || ''), ' ', copy),
      h('dt', {}, t('pay.amount')), h('dd', { id: 'pay-amount' }, `${ins.currency} ${ins.amountText}`)),
    h('p', { class: 'hint' }, t('pay.pagopa.hint')),
    rail.checkout && ['due', 'pending', 'expired'].includes(fee.state)
      ? h('p', {}, h('a', { id: 'pagopa-online', href: rail.checkout.replace('{notice}', encodeURIComponent(notice)), rel: 'noopener' }, t('pay.pagopa.online'))) : null,
    rail.mode === 'test' ? h('p', { class: 'note' }, t('pay.card.test')) : null,
    h('p', { class: 'hint' }, t('pay.pagopa.legal')));
}

function returnBody(out) {
  const amount = out.amount !== undefined ? fmtMoney(out.amount, out.currency) : '';
  const back = out.request ? h('p', {}, h('a', { href: `/requests/${encodeURIComponent(out.request)}` }, t('pay.return.toRequest'))) : null;
  if (out.state === 'succeeded') {
    return [h('p', { class: 'note ok', id: 'return-state', 'data-state': 'succeeded' }, t('pay.return.succeeded', { amount })),
      h('p', {}, h('a', { href: '/receipts', id: 'return-receipts' }, t('pay.receipts'))), back];
  }
  if (out.finished) {
    return [h('p', { class: 'note warn', id: 'return-state', 'data-state': out.state }, t('pay.return.notCompleted', { state: t(`pay.return.state.${out.state}`) })),
      out.request ? h('p', {}, h('a', { href: `/requests/${encodeURIComponent(out.request)}/pay` }, t('pay.return.again'))) : null];
  }
  return [h('p', { class: 'note', id: 'return-state', 'data-state': 'confirming' }, t('pay.return.confirming', { provider: providerName(out.provider) })),
    h('progress', { 'aria-label': t('pay.return.confirmingShort') }), back];
}

/** returnView is /payments/return/{token}: the true state of the payment. */
export async function returnView(token) {
  const live = h('div', { id: 'return', role: 'status', 'aria-live': 'polite' });
  const section = h('section', { id: 'pay-return' }, h('h1', {}, t('pay.return.title')), live);
  const show = (out) => { live.replaceChildren(...returnBody(out).filter(Boolean)); };
  const cached = (() => { try { return JSON.parse(localStorage.getItem(RETURN_KEY + token)); } catch { return null; } })();
  if (cached) show(cached);
  else live.replaceChildren(h('p', { class: 'note', id: 'return-state', 'data-state': 'confirming' }, t('pay.return.confirmingShort')));
  let tries = 0;
  const poll = async () => {
    if (!section.isConnected && tries > 0) return; // the citizen went elsewhere
    tries++;
    try {
      const r = await request('POST', `/api/payments/return/${encodeURIComponent(token)}`, { auth: false });
      localStorage.setItem(RETURN_KEY + token, JSON.stringify(r.data));
      show(r.data);
      if (r.data.finished) {
        if (r.data.state === 'succeeded') kick('payment');
        localStorage.removeItem(ATTEMPT_KEY + r.data.fee);
        return;
      }
    } catch (err) {
      if (err instanceof NetworkError) {
        live.append(h('p', { class: 'note warn' }, t('pay.return.offline')));
      } else if (err.status === 404) {
        live.replaceChildren(h('p', { class: 'note warn', id: 'return-state', 'data-state': 'unknown' }, t('pay.return.unknown')));
        return;
      }
    }
    if (tries < 90) setTimeout(poll, Math.min(1000 * tries, 5000));
  };
  poll();
  return section;
}
