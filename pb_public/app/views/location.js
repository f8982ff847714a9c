// The filing form's map and "already reported nearby" (issue 13). The map
// loads only when the citizen opens it; without it, the position button and
// the address field still work. Nearby requests of the same service come from
// the public list (no personal data); "follow this one instead" subscribes the
// citizen to its pushes rather than filing a duplicate.
import { h, announce } from '../dom.js';
import { t, fmtDate } from '../i18n.js';
import { request, session, HttpError, NetworkError } from '../api.js';
import { navigate } from '../main.js';
import { statusText } from './requests.js';

const NEAR_DEG = 0.0015; // about 150 m around the point

function sayer(el) {
  return (msg) => { el.textContent = msg; };
}

/**
 * mapPanel returns the "choose on the map" button and its panel for draft d;
 * onPoint(point) is called when the pin moves (the form updates its text).
 */
export function mapPanel(d, onPoint) {
  const status = h('p', { id: 'map-status', role: 'status', class: 'muted' });
  const holder = h('div', { id: 'map-panel', hidden: !d.mapOpen });
  const results = h('ul', { class: 'street-results', id: 'street-results' });
  const search = h('input', { type: 'search', id: 'street-search', autocomplete: 'off', 'aria-describedby': 'street-search-hint', 'aria-controls': 'street-results' });
  let picker = null;
  const open = async () => {
    holder.hidden = false;
    d.mapOpen = true;
    btn.setAttribute('aria-expanded', 'true');
    if (picker) return;
    status.textContent = t('map.loading');
    const box = h('div', { class: 'map', id: 'pick-map', 'aria-describedby': 'map-hint' });
    holder.querySelector('.map-slot').replaceChildren(box);
    try {
      const m = await import('../map.js');
      picker = await m.pickerMap(box, { point: d.location, say: sayer(status), onPick: (p) => onPoint(p) });
      status.textContent = '';
      search.addEventListener('input', async () => {
        const found = await m.searchStreets(search.value);
        results.replaceChildren(...found.map((s) => h('li', {}, h('button', { type: 'button', class: 'linkish', onclick: async () => {
          await picker.moveTo(s.lat, s.lon);
          onPoint({ lat: s.lat, lon: s.lon, street: s.name });
          status.textContent = t('map.pinNear', { lat: s.lat.toFixed(5), lon: s.lon.toFixed(5), street: s.name });
          box.focus();
        } }, s.name))));
        if (search.value.trim()) announce(t('map.found', { n: found.length }));
      });
    } catch (err) {
      status.textContent = t('map.failed');
      console.warn('map:', err.message);
    }
  };
  const btn = h('button', { type: 'button', class: 'secondary', id: 'map-open', 'aria-expanded': d.mapOpen ? 'true' : 'false', 'aria-controls': 'map-panel', onclick: () => (holder.hidden ? open() : (holder.hidden = true, d.mapOpen = false, btn.setAttribute('aria-expanded', 'false'))) }, t('map.open'));
  holder.append(
    h('label', { for: 'street-search' }, t('map.search')),
    h('span', { class: 'hint', id: 'street-search-hint' }, t('map.searchHint')),
    search, results,
    h('p', { class: 'hint', id: 'map-hint' }, t('map.hint')),
    h('div', { class: 'map-slot' }), status);
  if (d.mapOpen) setTimeout(open, 0);
  return { button: btn, panel: holder };
}

/** nearbyPanel lists open public requests of svc near the draft's point, with "follow instead". */
export function nearbyPanel(svc, d) {
  const box = h('section', { id: 'nearby', 'aria-labelledby': 'nearby-title', hidden: true });
  let last = '';
  const refresh = async () => {
    if (!d.location || !navigator.onLine) { box.hidden = true; return; }
    const { lat, lon } = d.location;
    const key = `${lat.toFixed(4)},${lon.toFixed(4)}`;
    if (key === last) return;
    last = key;
    const bbox = [lon - NEAR_DEG, lat - NEAR_DEG, lon + NEAR_DEG, lat + NEAR_DEG].map((x) => x.toFixed(6)).join(',');
    let items = [];
    try {
      const r = await request('GET', `/api/city/requests?service=${encodeURIComponent(svc.code)}&bbox=${bbox}`, { auth: false });
      items = (r.data && r.data.items) || [];
    } catch (err) {
      if (!(err instanceof NetworkError)) console.warn('nearby:', err.message);
      box.hidden = true;
      return;
    }
    if (!items.length) { box.hidden = true; return; }
    const msg = h('p', { role: 'status', id: 'nearby-msg' });
    box.replaceChildren(h('h2', { id: 'nearby-title' }, t('near.title')), h('p', {}, t('near.explain', { n: items.length })),
      h('ul', { class: 'cards', id: 'nearby-list' }, items.slice(0, 5).map((it) => h('li', { class: 'nearby-item' },
        h('p', {}, h('a', { href: `/public/requests/${it.id}` }, `${svc.name} ${it.number}`), ` · ${statusText(it.status)} · ${fmtDate(it.created, false)}`,
          it.followers ? ` · ${t('near.followers', { n: it.followers })}` : ''),
        h('button', { type: 'button', class: 'secondary follow-instead', 'data-id': it.id, onclick: async (e) => {
          if (!session()) { navigate(`/signin?next=${encodeURIComponent(location.pathname)}`); return; }
          e.target.disabled = true;
          try {
            await follow(it.id);
            navigate(`/public/requests/${it.id}?followed=1`);
          } catch (err) {
            e.target.disabled = false;
            msg.textContent = t('near.followFailed', { reason: err instanceof HttpError ? (err.body && err.body.message) || err.status : t('err.network') });
          }
        } }, t('near.follow'))))), msg);
    box.hidden = false;
    announce(t('near.explain', { n: items.length }));
  };
  return { box, refresh };
}

/** follow subscribes the signed-in citizen to a public request's pushes. */
export async function follow(requestId) {
  const s = session();
  try {
    await request('POST', '/api/collections/follows/records', { body: { citizen: s.record.id, request: requestId } });
  } catch (err) {
    // already following is fine
    if (!(err instanceof HttpError && err.status === 400 && /unique|already/i.test(JSON.stringify(err.body || {})))) throw err;
  }
}
