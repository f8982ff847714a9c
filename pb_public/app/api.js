// HTTP to the civicdesk server and the citizen's session (PocketBase auth token).

const AUTH_KEY = 'civicdesk.auth';
const listeners = new Set();

/** HttpError is a non-2xx answer; body is PocketBase's {status, message, data} when JSON. */
export class HttpError extends Error {
  constructor(status, body, headers) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

/** NetworkError means the server could not be reached (offline, refused, reset). */
export class NetworkError extends Error {}

/** session returns {token, record} or null. */
export function session() {
  try { return JSON.parse(localStorage.getItem(AUTH_KEY)) || null; } catch { return null; }
}

/** setSession stores (or clears, with null) the session and tells listeners. */
export function setSession(s) {
  if (s) localStorage.setItem(AUTH_KEY, JSON.stringify({ token: s.token, record: s.record }));
  else localStorage.removeItem(AUTH_KEY);
  for (const fn of listeners) fn(s);
}

/** onSession registers fn(session) for sign-in and sign-out. */
export function onSession(fn) { listeners.add(fn); }

/** request performs an HTTP call; JSON in and out. Throws HttpError or NetworkError. */
export async function request(method, path, { body, headers = {}, auth = true, raw = false } = {}) {
  const h = { ...headers };
  const s = session();
  if (auth && s) h.Authorization = s.token;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch (err) {
    throw new NetworkError(err.message);
  }
  if (raw && res.ok) return res;
  const text = await res.text();
  let data = null;
  if (text) { try { data = JSON.parse(text); } catch { data = { message: text }; } }
  if (!res.ok && res.status !== 304) throw new HttpError(res.status, data, res.headers);
  return { status: res.status, data, headers: res.headers };
}

const AUTH_BASE = '/api/collections/citizens';

/** signIn authenticates with email and password. */
export async function signIn(email, password) {
  const r = await request('POST', `${AUTH_BASE}/auth-with-password`, { body: { identity: email, password }, auth: false });
  setSession(r.data);
  return r.data;
}

/** signUp creates a citizen account (created(email) is called once it exists) and signs in. */
export async function signUp({ email, password, name, lang }, created = () => {}) {
  await request('POST', `${AUTH_BASE}/records`, { body: { email, password, passwordConfirm: password, name, lang }, auth: false });
  created(email);
  return signIn(email, password);
}

/** requestOTP asks the server to email a one-time code; returns the otpId. */
export async function requestOTP(email) {
  const r = await request('POST', `${AUTH_BASE}/request-otp`, { body: { email }, auth: false });
  return r.data.otpId;
}

/** signInOTP completes an email-code sign-in. */
export async function signInOTP(otpId, code) {
  const r = await request('POST', `${AUTH_BASE}/auth-with-otp`, { body: { otpId, password: code }, auth: false });
  setSession(r.data);
  return r.data;
}

/** refresh renews the token; a 401 signs out (the outbox stays on the device). */
export async function refresh() {
  if (!session()) return;
  try {
    const r = await request('POST', `${AUTH_BASE}/auth-refresh`);
    setSession(r.data);
  } catch (err) {
    if (err instanceof HttpError && (err.status === 401 || err.status === 403 || err.status === 404)) setSession(null);
    else if (!(err instanceof NetworkError)) throw err;
  }
}

/** saveLang stores the citizen's language on the server (push notifications use it). */
export async function saveLang(lang) {
  const s = session();
  if (!s || s.record.lang === lang) return;
  const r = await request('PATCH', `${AUTH_BASE}/records/${s.record.id}`, { body: { lang } });
  setSession({ token: s.token, record: r.data });
}

/** errorMessage gives the server's message, including the first field error. */
export function errorMessage(err) {
  if (err instanceof HttpError && err.body) {
    const data = err.body.data || {};
    const first = Object.entries(data).find(([, v]) => v && v.message);
    return first ? `${first[0]}: ${first[1].message}` : (err.body.message || `HTTP ${err.status}`);
  }
  return err && err.message ? err.message : String(err);
}
