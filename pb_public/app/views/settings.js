// Settings: account, notifications (push opt-in after a tap), install hint
// (iOS needs the Home Screen for push), storage persistence.
import { h, announce } from '../dom.js';
import { t } from '../i18n.js';
import { session, setSession, request } from '../api.js';
import { pending } from '../sync.js';
import * as push from '../push.js';
import { app, navigate } from '../main.js';

/** settingsView renders the settings page. */
export async function settingsView() {
  const s = session();
  const section = h('section', {}, h('h1', {}, t('settings.title')));

  const pend = await pending();
  section.append(h('h2', {}, t('account.title')),
    h('p', {}, t('auth.signedInAs', { email: (s && s.record.email) || '' })),
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', id: 'sign-out', onclick: () => {
      if (pend.requests && !confirm(t('auth.signoutPending', { n: pend.requests }))) return;
      setSession(null);
      navigate('/signin', { replace: true });
    } }, t('auth.signout'))));
  // security (issue 17): end every session of this account, on every device
  const everywhereStatus = h('p', { role: 'status', id: 'sign-out-everywhere-status' });
  section.append(h('p', { class: 'hint' }, t('auth.signoutEverywhereHint')),
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', id: 'sign-out-everywhere', onclick: async () => {
      if (pend.requests && !confirm(t('auth.signoutPending', { n: pend.requests }))) return;
      try {
        await request('POST', '/api/mobile/signout-everywhere');
      } catch {
        everywhereStatus.textContent = t('auth.signoutEverywhereFailed');
        return;
      }
      setSession(null);
      navigate('/signin', { replace: true });
    } }, t('auth.signoutEverywhere'))), everywhereStatus);

  const pushBox = h('div', { id: 'push-box' });
  section.append(h('h2', {}, t('push.title')), h('p', {}, t('push.explain')), pushBox);
  const status = h('p', { role: 'status', id: 'push-status' });
  const drawPush = async () => {
    pushBox.replaceChildren();
    if (push.isIOS() && !push.isStandalone()) {
      pushBox.append(h('p', { class: 'note' }, t('push.iosHint')));
      return;
    }
    if (!push.supported()) { pushBox.append(h('p', {}, t('push.unsupported'))); return; }
    if (Notification.permission === 'denied') { pushBox.append(h('p', {}, t('push.denied'))); return; }
    const sub = await push.current().catch(() => null);
    const btn = h('button', { type: 'button', id: sub ? 'push-disable' : 'push-enable', class: sub ? 'secondary' : null }, t(sub ? 'push.disable' : 'push.enable'));
    btn.addEventListener('click', async () => {
      btn.disabled = true;
      try {
        if (sub) { await push.disable(); status.textContent = t('push.off'); }
        else {
          const r = await push.enable();
          status.textContent = r === 'granted' ? t('push.on') : t('push.denied');
        }
      } catch (err) {
        status.textContent = t('push.failed', { reason: err.message });
      }
      await drawPush();
      announce(status.textContent);
    });
    if (sub) pushBox.append(h('p', {}, t('push.on')));
    pushBox.append(h('div', { class: 'actions' }, btn), status);
  };
  await drawPush();

  if (!push.isStandalone()) {
    section.append(h('h2', {}, t('install.title')));
    if (app.installPrompt) {
      section.append(h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: async () => {
        const e = app.installPrompt;
        app.installPrompt = null;
        await e.prompt();
      } }, t('install.button'))));
    } else {
      section.append(h('p', {}, t(push.isIOS() ? 'push.iosHint' : 'install.hint')));
    }
  }

  if (navigator.storage && navigator.storage.persisted) {
    const persisted = await navigator.storage.persisted().catch(() => false);
    section.append(h('h2', {}, t('storage.title')), h('p', {}, t(persisted ? 'storage.persisted' : 'storage.notPersisted')));
  }
  return section;
}
