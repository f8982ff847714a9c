// Maps without a tile server (loaded only when a map opens: Leaflet ~42 KB
// gzipped is not part of the first view). The city's outline and named streets
// come from its own GeoJSON file served by the binary (/city/map.geojson); a
// raster tile URL is drawn underneath only when the city configured one.
// Keyboard: the map is one focusable element; arrow keys move the pin,
// Shift+arrow moves it further, + and - zoom; the pin's position and the
// nearest street are announced. The street search uses the same file, so no
// address ever leaves the city's server.
import { h } from './dom.js';
import { t } from './i18n.js';
import { app } from './main.js';

let L = null;
let geo = null;

async function leaflet() {
  if (L) return L;
  if (!document.querySelector('link[data-leaflet]')) {
    const link = h('link', { rel: 'stylesheet', href: '/vendor/leaflet/leaflet.css', 'data-leaflet': '' });
    document.head.append(link);
  }
  await import('/vendor/leaflet/leaflet.js'); // UMD: defines window.L
  L = window.L;
  return L;
}

/** cityGeo returns the city's map file (GeoJSON FeatureCollection), cached for the session. */
export async function cityGeo() {
  if (geo) return geo;
  const url = (app.catalog && app.catalog.city && app.catalog.city.map) || '/city/map.geojson';
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  geo = await r.json();
  return geo;
}

const fold = (s) => String(s).normalize('NFD').replace(/\p{Diacritic}/gu, '').toLowerCase();

function streetPoints(f) {
  const g = f.geometry || {};
  if (g.type === 'LineString') return g.coordinates;
  if (g.type === 'MultiLineString') return g.coordinates.flat();
  if (g.type === 'Point') return [g.coordinates];
  return [];
}

/** searchStreets finds named features of the map file whose name contains every word of q. */
export async function searchStreets(q, limit = 8) {
  const words = fold(q).split(/\s+/).filter(Boolean);
  if (!words.length) return [];
  const out = [];
  for (const f of (await cityGeo()).features || []) {
    const name = f.properties && f.properties.name;
    if (!name || (f.properties.kind || 'street') === 'outline') continue;
    if (!words.every((w) => fold(name).includes(w))) continue;
    const pts = streetPoints(f);
    if (!pts.length) continue;
    const [lon, lat] = pts[Math.floor(pts.length / 2)];
    out.push({ name, lat, lon });
    if (out.length >= limit) break;
  }
  return out;
}

/** nearestStreet names the closest named street of the map file to lat, lon (or ''). */
export async function nearestStreet(lat, lon) {
  let best = '';
  let bestD = Infinity;
  for (const f of (await cityGeo()).features || []) {
    const name = f.properties && f.properties.name;
    if (!name || f.properties.kind === 'outline') continue;
    for (const [x, y] of streetPoints(f)) {
      const d = (y - lat) ** 2 + ((x - lon) * Math.cos((lat * Math.PI) / 180)) ** 2;
      if (d < bestD) { bestD = d; best = name; }
    }
  }
  return Math.sqrt(bestD) * 111_000 < 300 ? best : '';
}

async function baseMap(el, { interactive = true } = {}) {
  const Lf = await leaflet();
  const data = await cityGeo();
  const city = (app.catalog && app.catalog.city) || {};
  const map = Lf.map(el, { keyboard: false, attributionControl: !!city.tiles, zoomControl: interactive, dragging: interactive, scrollWheelZoom: false });
  if (city.tiles) Lf.tileLayer(city.tiles, { attribution: city.attribution || '', maxZoom: 19 }).addTo(map);
  const layer = Lf.geoJSON(data, {
    style: (f) => (f.properties && f.properties.kind === 'outline'
      ? { color: '#1b4f9c', weight: 2, fillColor: '#dce6f5', fillOpacity: city.tiles ? 0.1 : 0.6 }
      : { color: '#4a4a4a', weight: 3, opacity: 0.8 }),
    interactive: false,
  }).addTo(map);
  const bounds = layer.getBounds();
  if (bounds.isValid()) map.fitBounds(bounds);
  else map.setView([0, 0], 2);
  // the street names, drawn once the map is zoomed in enough to read them
  for (const f of data.features || []) {
    if (f.properties && f.properties.kind !== 'outline' && f.properties.name) {
      const pts = streetPoints(f);
      if (pts.length) {
        const [lon, lat] = pts[Math.floor(pts.length / 2)];
        Lf.marker([lat, lon], { icon: Lf.divIcon({ className: 'street-label', html: '', iconSize: null }), interactive: false, keyboard: false })
          .addTo(map).getElement().textContent = f.properties.name;
      }
    }
  }
  return { Lf, map };
}

const PIN = { radius: 11, color: '#b00020', weight: 3, fillColor: '#ffbf47', fillOpacity: 0.9 };

/**
 * pickerMap draws a map into el where a pin chooses a point: a tap or click,
 * or arrow keys when the map has focus. onPick({lat, lon, street}) follows
 * every move; say(text) announces the position (a polite live region).
 */
export async function pickerMap(el, { point, onPick, say }) {
  const { Lf, map } = await baseMap(el);
  el.setAttribute('tabindex', '0');
  el.setAttribute('role', 'application');
  el.setAttribute('aria-roledescription', t('map.role'));
  el.setAttribute('aria-label', t('map.label'));
  let pin = null;
  let announceTimer = null;
  const put = async (latlng, { pan = false, quiet = false } = {}) => {
    if (!pin) pin = Lf.circleMarker(latlng, PIN).addTo(map);
    else pin.setLatLng(latlng);
    if (pan) map.panTo(latlng, { animate: false });
    const lat = Number(latlng.lat.toFixed(6));
    const lon = Number(latlng.lng.toFixed(6));
    const street = await nearestStreet(lat, lon).catch(() => '');
    onPick({ lat, lon, street });
    if (quiet) return;
    clearTimeout(announceTimer);
    announceTimer = setTimeout(() => say(t(street ? 'map.pinNear' : 'map.pinAt', { lat: lat.toFixed(5), lon: lon.toFixed(5), street })), 300);
  };
  if (point) {
    map.setView([point.lat, point.lon], 17);
    await put(Lf.latLng(point.lat, point.lon), { quiet: true });
  }
  map.on('click', (e) => put(e.latlng));
  el.addEventListener('keydown', (e) => {
    const step = e.shiftKey ? 60 : 12; // screen pixels
    const d = { ArrowUp: [0, -step], ArrowDown: [0, step], ArrowLeft: [-step, 0], ArrowRight: [step, 0] }[e.key];
    if (d) {
      e.preventDefault();
      const from = pin ? pin.getLatLng() : map.getCenter();
      const p = map.latLngToContainerPoint(from).add(Lf.point(d[0], d[1]));
      put(map.containerPointToLatLng(p), { pan: true });
    } else if (e.key === '+' || e.key === '=') { e.preventDefault(); map.zoomIn(); } else if (e.key === '-') { e.preventDefault(); map.zoomOut(); }
  });
  return {
    map,
    moveTo: (lat, lon) => { map.setView([lat, lon], 17, { animate: false }); return put(Lf.latLng(lat, lon), { quiet: true }); },
  };
}

/** pointsMap shows points [{lat, lon, label, href}] read-only (a request's place, the public map). */
export async function pointsMap(el, points, { label }) {
  const { Lf, map } = await baseMap(el);
  el.setAttribute('role', 'img');
  el.setAttribute('aria-label', label);
  const group = [];
  for (const p of points) {
    if (!p.lat && !p.lon) continue;
    const m = Lf.circleMarker([p.lat, p.lon], PIN).addTo(map);
    if (p.label) m.bindTooltip(p.label);
    group.push([p.lat, p.lon]);
  }
  if (group.length === 1) map.setView(group[0], 17);
  else if (group.length > 1) map.fitBounds(group, { maxZoom: 17, padding: [20, 20] });
  return map;
}
