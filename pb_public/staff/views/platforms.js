// The payment platforms (docs/payments.md §12): their test or live mode from
// GET /api/payments/platforms (public, no secret), shown as a "TEST MODE —
// <platform>" badge wherever money may move through a platform in test mode,
// and the names and attempt states the payment views print.
import { send } from '../api.js';
import { t, has } from '../i18n.js';
import { h } from '/app/dom.js';

let cached = null;

/**
 * platforms resolves with the server's answer ({card, rails, modes}), asked
 * once per page load; null when it cannot be read (no badge is then better
 * than a wrong one — the fee panel still works).
 */
export function platforms() {
  if (!cached) cached = send('/api/payments/platforms').catch(() => { cached = null; return null; });
  return cached;
}

/** platformName is a platform's own name (the same in every language). */
export const platformName = (p) => (has(`platform.${p}`) ? t(`platform.${p}`) : p || '');

/** attemptState is an attempt state in words. */
export const attemptState = (s) => (has(`attempt.state.${s}`) ? t(`attempt.state.${s}`) : s);

/**
 * testBadges returns the badges of the platforms in test mode (only those in
 * only, when given), or null when none is.
 */
export function testBadges(info, only = null) {
  const modes = info?.modes || {};
  const list = Object.keys(modes).filter((k) => modes[k] === 'test' && (!only || only.includes(k))).sort();
  if (!list.length) return null;
  return h('p', { class: 'test-modes' }, list.map((k) => h('strong', { class: 'test-mode', 'data-provider': k }, t('platform.testMode', { platform: platformName(k) }))));
}

/**
 * badgeSlot is a place for the badges that fills itself when the answer comes
 * (the Payments pages draw their header synchronously).
 */
export function badgeSlot(id) {
  const slot = h('div', { id, class: 'test-mode-slot' });
  platforms().then((info) => {
    const b = testBadges(info);
    if (b) slot.replaceChildren(b);
  });
  return slot;
}

/** feePlatforms lists the platforms that may take a fee in its currency. */
export function feePlatforms(info, fee, attempts = []) {
  const out = new Set(attempts.map((a) => a.provider));
  const c = info?.card?.[fee.currency]?.provider;
  const r = info?.rails?.[fee.currency]?.provider;
  if (c) out.add(c);
  if (r) out.add(r);
  return [...out].filter(Boolean);
}
