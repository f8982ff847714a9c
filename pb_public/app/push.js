// Web Push opt-in (CONTRACT §5). Permission is asked only from a tap; iOS
// delivers web push only to apps added to the Home Screen.
import { request } from './api.js';
import { lang } from './i18n.js';

/** isIOS reports an iPhone/iPad browser (iPadOS reports itself as a Mac with touch). */
export const isIOS = () => /iPad|iPhone|iPod/.test(navigator.userAgent) || (navigator.platform === 'MacIntel' && navigator.maxTouchPoints > 1);
/** isStandalone reports an installed (Home Screen) launch. */
export const isStandalone = () => matchMedia('(display-mode: standalone)').matches || navigator.standalone === true;

/** supported reports whether this browser can receive web push here. */
export function supported() {
  return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
}

function keyBytes(b64url) {
  const s = atob(b64url.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (b64url.length % 4)) % 4));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** current returns the existing subscription or null. */
export async function current() {
  if (!supported()) return null;
  const reg = await navigator.serviceWorker.ready;
  return reg.pushManager.getSubscription();
}

/** enable asks permission (call it from a click), subscribes and registers with the server. */
export async function enable() {
  const perm = await Notification.requestPermission();
  if (perm !== 'granted') return perm;
  const { data } = await request('GET', '/api/mobile/push/key', { auth: false });
  const reg = await navigator.serviceWorker.ready;
  let sub = await reg.pushManager.getSubscription();
  if (!sub) sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(data.publicKey) });
  const j = sub.toJSON();
  await request('POST', '/api/mobile/push/subscriptions', { body: { endpoint: j.endpoint, keys: j.keys, lang: lang() } });
  return 'granted';
}

/** disable removes the subscription here and on the server. */
export async function disable() {
  const sub = await current();
  if (!sub) return;
  await request('DELETE', '/api/mobile/push/subscriptions', { body: { endpoint: sub.endpoint } });
  await sub.unsubscribe();
}

/**
 * refresh re-registers the subscription: notifications follow the shown
 * language, rotated browser keys reach the server, and the server counts the
 * device as alive (it removes devices unseen for 180 days).
 */
export async function refresh() {
  const sub = await current();
  if (!sub) return;
  const j = sub.toJSON();
  await request('POST', '/api/mobile/push/subscriptions', { body: { endpoint: j.endpoint, keys: j.keys, lang: lang() } });
}
