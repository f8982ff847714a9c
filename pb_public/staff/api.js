// The console's one PocketBase client (the npm `pocketbase` SDK, default auth
// store in localStorage) and small helpers for the staff routes of
// docs/staff-api.md. Every write goes through the records API or those routes,
// so the hooks on the data layer decide what is allowed.
import PocketBase from './vendor/pocketbase.es.mjs';
import { t } from './i18n.js';

/** pb is the console's SDK client. */
export const pb = new PocketBase(location.origin);
// one request per purpose may be in flight at a time: the SDK would otherwise cancel
// a queue refresh when a count refresh starts (same path, different query)
pb.autoCancellation(false);

// the SDK's errors carry no headers: keep the last Retry-After so a rate-limit
// message can say how long to wait
let lastRetryAfter = null;
pb.afterSend = (response, data) => {
  lastRetryAfter = response.status === 429 ? Number(response.headers.get('retry-after')) || null : null;
  return data;
};

/** retryAfter is the Retry-After of the last 429 in seconds, or null when the server gave none. */
export const retryAfter = () => lastRetryAfter;

/** me is the signed-in staff record (or null). */
export const me = () => (pb.authStore.isValid && pb.authStore.record?.collectionName === 'staff' ? pb.authStore.record : null);

/** isSupervisor reports whether the signed-in staff member is a supervisor. */
export const isSupervisor = () => me()?.role === 'supervisor';

/** send calls a staff route: JSON in and out, the auth token attached by the SDK. */
export function send(path, { method = 'GET', body, query, headers } = {}) {
  return pb.send(path, { method, body, query, headers });
}

/**
 * errorText gives a message for a failed call that names the field, in the
 * console's language where the status says enough, else the server's words.
 */
export function errorText(err) {
  if (!err) return '';
  if (err.isAbort) return t('err.aborted');
  const status = err.status ?? 0;
  if (status === 0) return t('err.offline');
  if (status === 429) {
    const s = retryAfter();
    return s ? t('err.rateLimitWait', { s }) : t('err.rateLimit');
  }
  if (status === 403) return t('err.forbidden');
  if (status === 404) return t('err.notFound');
  const body = err.response || {};
  const data = body.data || {};
  const fields = Object.entries(data).filter(([, v]) => v && typeof v === 'object' && v.message);
  if (fields.length) return fields.map(([k, v]) => `${k}: ${v.message}`).join(' ');
  return body.message || err.message || `HTTP ${status}`;
}

// --- catalogue (public): services and departments, names per language ---

let catalogue = null;

/** loadCatalogue fetches services and departments once per page. */
export async function loadCatalogue() {
  if (!catalogue) {
    catalogue = (async () => {
      const [services, departments] = await Promise.all([
        pb.collection('services').getFullList({ batch: 200, fields: 'id,code,name,i18n,department,fields,location,photos,active,fee,currency,fee_mode,sla_hours' }),
        pb.collection('departments').getFullList({ batch: 200, fields: 'id,code,name,i18n' }),
      ]);
      return { services, departments, serviceById: new Map(services.map((s) => [s.id, s])), deptById: new Map(departments.map((d) => [d.id, d])) };
    })();
    catalogue.catch(() => { catalogue = null; });
  }
  return catalogue;
}

/** nameOf gives a service's or department's name in language l. */
export const nameOf = (rec, l) => (rec ? rec.i18n?.[l]?.name || rec.name || rec.code : '');

// --- staff names (for realtime rows that carry only ids) ---

const staffNames = new Map();

/** staffName resolves a staff id to a name, from the cache or the records API. */
export async function staffName(id) {
  if (!id) return '';
  if (!staffNames.has(id)) {
    staffNames.set(id, pb.collection('staff').getOne(id, { fields: 'id,name' }).then((r) => r.name).catch(() => ''));
  }
  return staffNames.get(id);
}

/** rememberStaff caches names the server already sent. */
export function rememberStaff(list) {
  for (const s of list || []) if (s?.id && s.name) staffNames.set(s.id, Promise.resolve(s.name));
}

// --- file tokens: one per page, renewed before PocketBase's 180 s expire ---

let token = null;
const TOKEN_REUSE_MS = 150 * 1000;

/** fileToken returns a protected-file token, reused while it is fresh. */
export async function fileToken() {
  if (!token || Date.now() - token.at > TOKEN_REUSE_MS) token = { at: Date.now(), value: pb.files.getToken() };
  try {
    return await token.value;
  } catch (err) {
    token = null;
    throw err;
  }
}

/** photoURL builds a protected photo URL (thumb like "320x240" or "" for the original). */
export function photoURL(requestId, name, tok, thumb = '') {
  return pb.files.getURL({ id: requestId, collectionName: 'requests' }, name, { token: tok, ...(thumb ? { thumb } : {}) });
}

/** download fetches an authenticated file (CSV, PNG) and saves it under name. */
export async function download(path, name) {
  const r = await fetch(path, { headers: { Authorization: pb.authStore.token } });
  if (!r.ok) throw Object.assign(new Error(`HTTP ${r.status}`), { status: r.status });
  const url = URL.createObjectURL(await r.blob());
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

/** blobURL fetches an authenticated image and returns an object URL for an <img>. */
export async function blobURL(path) {
  const r = await fetch(path, { headers: { Authorization: pb.authStore.token } });
  if (!r.ok) throw Object.assign(new Error(`HTTP ${r.status}`), { status: r.status });
  return URL.createObjectURL(await r.blob());
}
