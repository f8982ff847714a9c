// Settings of this device (idle lock, shortcuts) and of the account (sign out everywhere).
import { me } from '../api.js';
import { t } from '../i18n.js';
import { h, announce } from '/app/dom.js';
import { settings, saveSettings, IDLE_CHOICES } from '../settings.js';
import { showHelp } from '../keys.js';
import { pushSection } from './push.js';

/** render draws the settings page. */
export async function render(main, _params, ctx) {
  const s = settings();
  const idle = h('select', { id: 'set-idle' }, IDLE_CHOICES.map((m) => h('option', { value: m, selected: m === s.idleMinutes }, m ? t('set.idleAfter', { n: m }) : t('set.idleNever'))));
  const keys = h('input', { type: 'checkbox', id: 'set-shortcuts', checked: s.shortcuts });
  const status = h('p', { role: 'status', id: 'set-status' });
  const everywhereErr = h('p', { class: 'err', role: 'alert', id: 'everywhere-error' });
  main.replaceChildren(h('h1', { tabindex: '-1' }, t('set.title')),
    h('form', {
      id: 'settings-form',
      onsubmit: (e) => {
        e.preventDefault();
        saveSettings({ idleMinutes: Number(idle.value), shortcuts: keys.checked });
        status.textContent = t('set.saved');
        announce(t('set.saved'));
      },
    },
    h('h2', {}, t('set.device')),
    h('label', { for: 'set-idle' }, t('set.idle')), h('p', { class: 'hint' }, t('set.idleHint')), idle,
    h('label', { class: 'choice' }, keys, t('set.shortcuts')), h('p', { class: 'hint' }, t('set.shortcutsHint')),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'set-save' }, t('set.save')),
      h('button', { type: 'button', class: 'secondary', id: 'set-help', onclick: showHelp }, t('keys.helpButton'))),
    status),
    pushSection(),
    h('h2', {}, t('set.account')),
    h('p', {}, t('set.accountInfo', { name: me().name || '', email: me().email || '', role: t(`role.${me().role}`) })),
    h('p', {}, t('set.everywhereHint')),
    h('div', { class: 'actions' }, h('button', {
      type: 'button', class: 'danger', id: 'sign-out-everywhere',
      onclick: async () => {
        try {
          const m = await import('./signin.js');
          await m.signOutEverywhere(ctx);
        } catch (err) {
          everywhereErr.textContent = err.response?.message || err.message || String(err);
        }
      },
    }, t('set.everywhere'))), everywhereErr);
  return {};
}
