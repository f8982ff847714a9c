// Staff web push opt-in (docs/staff-api.md §6), the way the citizen app does it
// (pb_public/app/push.js): the console's own service worker (/staff/sw.js, scope
// /staff/, push only), the city's VAPID key from GET /api/mobile/push/key, and
// POST/DELETE /api/staff/push/subscriptions. Permission is asked only from a click.
// Signing out on this computer removes its subscription (a shared counter PC must
// not show the previous clerk's notifications).
import { send } from '../api.js';
import { t, lang } from '../i18n.js';
import { h, announce } from '/app/dom.js';

const SCOPE = '/staff/';

/** supported reports whether this browser can receive web push on this page. */
export const supported = () => window.isSecureContext && 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;

function keyBytes(b64url) {
  const s = atob(b64url.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (b64url.length % 4)) % 4));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

async function registration(create) {
  // the citizen app's worker (scope /) also covers /staff/: only the console's own counts
  let reg = await navigator.serviceWorker.getRegistration(SCOPE);
  if (reg && new URL(reg.scope).pathname !== SCOPE) reg = null;
  if (reg || !create) return reg;
  const r = await navigator.serviceWorker.register('/staff/sw.js', { scope: SCOPE });
  const sw = r.installing || r.waiting || r.active;
  if (sw && sw.state !== 'activated') {
    await new Promise((res) => { const on = () => { if (sw.state === 'activated' || sw.state === 'redundant') { sw.removeEventListener('statechange', on); res(); } }; sw.addEventListener('statechange', on); on(); });
  }
  return r;
}

/** current returns this computer's push subscription for the console, or null. */
export async function current() {
  if (!supported()) return null;
  const reg = await registration(false);
  return reg ? reg.pushManager.getSubscription() : null;
}

async function register(sub) {
  const j = sub.toJSON();
  await send('/api/staff/push/subscriptions', { method: 'POST', body: { endpoint: j.endpoint, keys: j.keys, lang: lang() } });
}

/** enable asks for permission, subscribes and registers the device with the server; returns the permission. */
export async function enable() {
  const perm = await Notification.requestPermission();
  if (perm !== 'granted') return perm;
  const { publicKey } = await send('/api/mobile/push/key');
  const reg = await registration(true);
  let sub = await reg.pushManager.getSubscription();
  if (!sub) {
    // a browser whose push service cannot be reached never answers: say so instead of waiting forever
    let timer;
    const late = new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(t('push.noService'))), 30000); });
    try {
      sub = await Promise.race([reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(publicKey) }), late]);
    } finally { clearTimeout(timer); }
  }
  await register(sub);
  return 'granted';
}

/** disable removes the subscription on the server and in the browser. */
export async function disable() {
  const sub = await current();
  if (!sub) return;
  await send('/api/staff/push/subscriptions', { method: 'DELETE', body: { endpoint: sub.endpoint } });
  await sub.unsubscribe();
}

/** forget is disable without errors, for sign-out (the token is still valid then). */
export async function forget() {
  try { await disable(); } catch { /* offline or already gone: the browser copy goes anyway */ }
  try { await (await current())?.unsubscribe(); } catch { /* nothing to remove */ }
}

/** pushSection is the settings block: a clear state and one button to turn it on or off. */
export function pushSection() {
  const state = h('p', { id: 'push-state', class: 'push-state', role: 'status' }, t('loading'));
  const hint = h('p', { class: 'hint', id: 'push-hint' });
  const btn = h('button', { type: 'button', id: 'push-toggle', class: 'secondary', hidden: true });
  const err = h('p', { class: 'err', role: 'alert', id: 'push-error' });
  let on = false;

  async function show() {
    err.textContent = '';
    btn.hidden = true;
    if (!supported()) { state.dataset.state = 'unsupported'; state.textContent = t('push.unsupported'); hint.textContent = t('push.unsupportedHint'); return; }
    if (Notification.permission === 'denied') { state.dataset.state = 'denied'; state.textContent = t('push.denied'); hint.textContent = t('push.deniedHint'); return; }
    let sub = null;
    try { sub = await current(); } catch { /* treated as off */ }
    on = !!sub;
    if (sub) register(sub).catch(() => {}); // the device language follows the console's; the server sees it alive
    state.dataset.state = on ? 'on' : 'off';
    state.textContent = on ? t('push.on') : t('push.off');
    hint.textContent = t('push.what');
    btn.textContent = on ? t('push.turnOff') : t('push.turnOn');
    btn.hidden = false;
  }
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    state.textContent = on ? t('push.turningOff') : t('push.turningOn');
    try {
      if (on) await disable();
      else if (await enable() !== 'granted') err.textContent = t('push.notAllowed');
      await show();
      announce(state.textContent);
      btn.focus();
    } catch (ex) {
      err.textContent = t('push.failed', { message: ex?.response?.message || ex?.message || String(ex) });
      await show().catch(() => {});
    } finally { btn.disabled = false; }
  });
  show();
  return h('section', { id: 'push', 'aria-labelledby': 'push-title' }, h('h2', { id: 'push-title' }, t('push.title')), state, hint, h('div', { class: 'actions' }, btn), err);
}
