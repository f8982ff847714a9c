// The service catalogue (GET /api/mobile/catalog), cached in IndexedDB per
// language so filing works offline; revalidated with its ETag.
import { request, NetworkError } from './api.js';
import { shared } from './db.js';
import { loc } from './i18n.js';

/**
 * loadCatalog returns {services, departments, statuses, offline} for lang:
 * fresh from the server when reachable, else the cached copy (any language
 * as a last resort), else null.
 */
export async function loadCatalog(lang) {
  const key = `catalog.${lang}`;
  const cached = await shared.get('meta', key);
  try {
    const headers = { 'Accept-Language': lang };
    if (cached && cached.etag) headers['If-None-Match'] = cached.etag;
    const r = await request('GET', `/api/mobile/catalog?lang=${encodeURIComponent(lang)}`, { headers, auth: false });
    if (r.status === 304 && cached) return normalize(cached.data, lang, false);
    await shared.put('meta', { etag: r.headers.get('ETag'), data: r.data, at: Date.now() }, key);
    await shared.put('meta', lang, 'catalog.last');
    return normalize(r.data, lang, false);
  } catch (err) {
    if (!(err instanceof NetworkError) && !cached) throw err;
    if (cached) return normalize(cached.data, lang, true);
    const last = await shared.get('meta', 'catalog.last');
    const other = last && await shared.get('meta', `catalog.${last}`);
    return other ? normalize(other.data, lang, true) : null;
  }
}

/** normalize accepts the catalogue with localized strings or {lang: text} maps. */
export function normalize(raw, lang, offline) {
  const list = Array.isArray(raw) ? raw : (raw.services || raw.items || []);
  const services = list.filter((s) => s && s.code && s.active !== false).map((s) => {
    const i = (s.i18n && s.i18n[lang]) || {};
    return {
      id: s.id || '',
      code: s.code,
      name: i.name || loc(s.name, lang) || s.code,
      description: i.description || loc(s.description, lang),
      group: i.group || loc(s.group, lang),
      keywords: String(s.keywords || ''),
      location: s.location || 'none',
      photos: s.photos || 'none',
      fee: Number(s.fee) || 0,
      currency: s.currency || '',
      feeMode: s.feeMode || (Number(s.fee) > 0 ? 'on_filing' : 'none'), // payments
      reopenDays: Number(s.reopenDays) || 0,
      reopenMode: s.reopenMode || 'reopen',
      fields: (Array.isArray(s.fields) ? s.fields : []).slice().sort((a, b) => (a.order ?? 0) - (b.order ?? 0)),
    };
  });
  return { services, departments: raw.departments || [], statuses: raw.statuses || {}, city: raw.city || null, offline };
}

const fold = (s) => String(s).normalize('NFD').replace(/\p{Diacritic}/gu, '').toLowerCase();

/** search filters services whose texts contain every word of q (accent-insensitive). */
export function search(services, q) {
  const words = fold(q).split(/\s+/).filter(Boolean);
  if (!words.length) return services;
  return services.filter((s) => {
    const hay = fold([s.name, s.description, s.group, s.keywords, s.code].join(' '));
    return words.every((w) => hay.includes(w));
  });
}

/** groups returns [[group, services]] in first-seen order. */
export function groups(services) {
  const m = new Map();
  for (const s of services) {
    const g = s.group || '';
    if (!m.has(g)) m.set(g, []);
    m.get(g).push(s);
  }
  return [...m.entries()];
}
