// Staff notifications (assignment to me, a citizen's reply, due soon) and the
// opt-in for staff web push where the server offers it.
import { send, errorText } from '../api.js';
import { t, fmtDate } from '../i18n.js';
import { h, announce } from '/app/dom.js';

/** render lists the signed-in staff member's notifications. */
export async function render(main, _params, ctx) {
  const list = h('ul', { class: 'notifs', id: 'notif-list' });
  const status = h('p', { role: 'status', id: 'notif-status' });
  const markAll = h('button', { type: 'button', class: 'secondary', id: 'notif-read-all', onclick: () => markRead(items.filter((n) => !n.read).map((n) => n.id)) }, t('notif.markAll'));
  let items = [];

  async function load() {
    status.textContent = t('loading');
    try {
      const r = await send('/api/staff/notifications');
      items = Array.isArray(r) ? r : r.items || [];
      status.textContent = items.length ? '' : t('notif.none');
      list.replaceChildren(...items.map((n) => h('li', { class: n.read ? '' : 'unread', 'data-id': n.id },
        h('a', { href: `#/queue/open/${n.request?.id}`, onclick: () => markRead([n.id]) }, t(`notif.${n.kind}`, { number: n.request?.number || '' })),
        ' · ', fmtDate(n.created), n.read ? '' : h('span', { class: 'sr-only' }, ` (${t('notif.unread')})`))));
      ctx.setUnread(items.filter((n) => !n.read).length);
    } catch (err) {
      status.textContent = errorText(err);
    }
  }
  async function markRead(ids) {
    if (!ids.length) return;
    try {
      await send('/api/staff/notifications/read', { method: 'POST', body: { ids } });
      announce(t('notif.marked'));
      await load();
    } catch (err) {
      status.textContent = errorText(err);
    }
  }

  main.replaceChildren(h('h1', { tabindex: '-1' }, t('notif.title')), h('p', { class: 'hint' }, h('a', { href: '#/settings', id: 'notif-push-link' }, t('notif.pushLink'))), h('div', { class: 'actions' }, markAll), status, list);
  await load();
  return {};
}
