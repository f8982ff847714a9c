// Public requests, open to everyone before signing in (issue 13): a list (the
// table) with a map on demand, and one request's public page with "follow".
// Only what the server publishes: number, service, status, dates, a rounded
// point — never who filed it or what they wrote.
import { h, announce } from '../dom.js';
import { t, fmtDate } from '../i18n.js';
import { request, session, NetworkError } from '../api.js';
import { app, navigate } from '../main.js';
import { statusText } from './requests.js';
import { follow } from './location.js';

const svcName = (code) => ((app.catalog && app.catalog.services.find((s) => s.code === code)) || {}).name || code;

function showMapButton(id, points, label) {
  const slot = h('div', { class: 'map-slot', id: `${id}-slot` });
  const btn = h('button', { type: 'button', class: 'secondary', id, onclick: async () => {
    btn.hidden = true;
    const box = h('div', { class: 'map', id: `${id}-map` });
    slot.replaceChildren(box);
    try {
      const m = await import('../map.js');
      await m.pointsMap(box, points, { label });
    } catch (err) {
      slot.replaceChildren(h('p', { class: 'note warn' }, t('map.failed')));
      console.warn('map:', err.message);
    }
  } }, t('map.show'));
  return [h('div', { class: 'actions' }, btn), slot];
}

/** publicListView lists the city's open public requests, newest first. */
export async function publicListView() {
  const section = h('section', {}, h('h1', {}, t('pub.title')), h('p', {}, t('pub.explain')));
  let items = [];
  try {
    items = (await request('GET', '/api/city/requests?status=open', { auth: false })).data.items || [];
  } catch (err) {
    section.append(h('p', { class: 'note warn' }, t(err instanceof NetworkError ? 'pub.offline' : 'err.network')));
    return section;
  }
  if (!items.length) { section.append(h('p', {}, t('pub.empty'))); return section; }
  const label = t('pub.mapLabel', { n: items.length });
  section.append(...showMapButton('public-map', items.map((it) => ({ lat: it.lat, lon: it.lon, label: `${svcName(it.serviceCode)} ${it.number}` })), label));
  section.append(h('table', { class: 'list', id: 'public-list' },
    h('caption', { class: 'sr-only' }, label),
    h('thead', {}, h('tr', {}, [t('req.number'), t('req.service'), t('req.status'), t('req.arrived')].map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, items.map((it) => h('tr', {},
      h('td', {}, h('a', { href: `/public/requests/${it.id}` }, it.number)),
      h('td', {}, svcName(it.serviceCode)), h('td', {}, statusText(it.status)), h('td', {}, fmtDate(it.created, false)))))));
  return section;
}

/** publicDetailView shows one public request and lets a signed-in citizen follow it. */
export async function publicDetailView(id) {
  const section = h('section', {}, h('p', {}, h('a', { href: '/public' }, t('pub.back'))));
  let it;
  try {
    it = (await request('GET', `/api/city/requests/${encodeURIComponent(id)}`, { auth: false })).data;
  } catch (err) {
    section.append(h('h1', {}, t('req.notFoundTitle')), h('p', {}, t(err instanceof NetworkError ? 'pub.offline' : 'pub.notFound')));
    return section;
  }
  const followed = new URLSearchParams(location.search).has('followed');
  const msg = h('p', { role: 'status', id: 'follow-status' }, followed ? t('near.followed') : '');
  section.append(h('h1', {}, `${svcName(it.serviceCode)} ${it.number}`), msg,
    h('dl', { class: 'facts' },
      h('dt', {}, t('req.number')), h('dd', {}, it.number),
      h('dt', {}, t('req.status')), h('dd', { id: 'public-status' }, h('span', { class: `badge ${it.status}` }, statusText(it.status))),
      h('dt', {}, t('req.arrived')), h('dd', {}, fmtDate(it.created)),
      h('dt', {}, t('pub.followers')), h('dd', {}, String(it.followers || 0))),
    ...showMapButton('public-one-map', [{ lat: it.lat, lon: it.lon }], t('map.requestLabel', { lat: it.lat.toFixed(4), lon: it.lon.toFixed(4) })));
  if (!followed) {
    section.append(h('div', { class: 'actions' }, h('button', { type: 'button', id: 'follow', onclick: async (e) => {
      if (!session()) { navigate(`/signin?next=${encodeURIComponent(location.pathname)}`); return; }
      e.target.disabled = true;
      try {
        await follow(id);
        msg.textContent = t('near.followed');
        announce(msg.textContent);
      } catch {
        e.target.disabled = false;
        msg.textContent = t('near.followFailed', { reason: t('err.network') });
      }
    } }, t('near.followThis'))));
  }
  return section;
}
