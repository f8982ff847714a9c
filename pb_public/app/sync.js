// The sync engine (CONTRACT §4, FIELD-NOTES "Offline sync"): the only data path
// for the citizen's requests. Named mutations go to an IndexedDB outbox with a
// per-installation counter; a round pushes them, pulls, uploads photos (tus),
// pulls again, and caches receipt QR codes. An outbox entry is dropped only when
// a pull's lastMutationID covers it (the push answer can be lost after commit).
// One pusher at a time across tabs (Web Locks); other tabs hear about new data
// on a BroadcastChannel.
import { tx, p, get, getAll, at, currentName } from './db.js';
import { request, session, setSession, HttpError, NetworkError } from './api.js';
import { upload, TusError } from './tus.js';
import { recordId, ulid } from './ids.js';

const LOCK = 'civicdesk-sync';
const UPLOADS = '/api/mobile/uploads/';
const PERIOD_MS = 60_000;
const MAX_BATCH = 100;
const MAX_BATCH_BYTES = 900 * 1024; // under the server's 1 MiB
const STORES = { requests: 'requests', request_events: 'events', receipts: 'receipts', fees: 'fees' };
/**
 * GRACE_MS is how long acknowledged mutations and their photos stay on the
 * device after the server confirmed them (docs/sync-protocol.md "After a
 * restore"): if the server is restored from a backup taken in that time, the
 * app re-pushes what the restore lost. 8 days = the seven daily backups the
 * server keeps (the oldest is up to 7 days old) + 1 day for an operator to
 * notice and restore. Entries are dropped only after a pull in the same epoch.
 */
export const GRACE_MS = 8 * 24 * 3600 * 1000;

/** state is what the indicator shows; phase: idle | syncing | offline | error | auth. */
export const state = { phase: 'idle', photo: null, error: null };
const bus = new EventTarget();
const channel = 'BroadcastChannel' in self ? new BroadcastChannel('civicdesk-sync') : null;
let timer = null;
let running = false;
let again = false;
let failures = 0;

/** onChange registers fn({data}) for state changes; data=true when stored data changed. */
export function onChange(fn) { bus.addEventListener('change', (e) => fn(e.detail)); }

function emit(data = false, broadcast = true) {
  bus.dispatchEvent(new CustomEvent('change', { detail: { data } }));
  if (broadcast && channel) channel.postMessage({ data, state });
}
if (channel) {
  channel.onmessage = (e) => {
    if (e.data && e.data.kick) { kick('tab'); return; }
    // another tab is the pusher: mirror its indicator, re-render on new data
    if (e.data && e.data.state && !running) Object.assign(state, e.data.state);
    emit(!!(e.data && e.data.data), false);
  };
}

async function clientID(t) {
  const meta = t.objectStore('meta');
  let id = await p(meta.get('clientID'));
  if (!id) { id = ulid(); await p(meta.put(id, 'clientID')); }
  return id;
}

/**
 * enqueue appends a mutation and applies its local effect in ONE transaction,
 * so a crash leaves either both or neither. local(t, id) may write rows.
 */
async function enqueue(name, args, stores, local) {
  const clientTime = new Date().toISOString();
  await tx(['meta', 'outbox', ...stores], 'readwrite', async (t) => {
    await clientID(t);
    const meta = t.objectStore('meta');
    const id = (await p(meta.get('nextMutationID'))) || 1;
    await p(t.objectStore('outbox').put({ id, name, clientTime, args }));
    if (local) await local(t, id, clientTime);
    await p(meta.put(id + 1, 'nextMutationID'));
  });
  emit(true);
  kick(name);
}

/**
 * fileRequest queues request.create with its photos ([{data: ArrayBuffer, type,
 * sha256}]) and a local "waiting to send" row. Returns the requestId.
 */
export async function fileRequest({ service, serviceName, answers, description, location, address, photos }) {
  const requestId = recordId();
  const atts = photos.map((ph) => ({
    attachmentId: ulid(), requestId, data: ph.data, type: ph.type, size: ph.data.byteLength, sha256: ph.sha256, uploadUrl: null,
  }));
  const args = { requestId, service, answers, description, address, attachments: atts.map((a) => a.attachmentId) };
  if (location) args.location = location;
  await enqueue('request.create', args, ['attachments', 'requests'], async (t, id, clientTime) => {
    for (const a of atts) await p(t.objectStore('attachments').put(a));
    await p(t.objectStore('requests').put({
      id: requestId, _local: true, _mutation: id, status: 'pending', service, serviceName, answers, description,
      location: location || null, address, created: clientTime, photoCount: atts.length,
    }));
  });
  return requestId;
}

/** addComment queues request.comment. */
export async function addComment(requestId, message) {
  await enqueue('request.comment', { eventId: recordId(), requestId, message }, [], null);
}

/** cancelRequest queues request.cancel. */
export async function cancelRequest(requestId) {
  await enqueue('request.cancel', { requestId }, [], null);
}

/** pending summarises what waits: {requests, photos, mutations, byRequest}. */
export async function pending() {
  const [outbox, atts] = await Promise.all([getAll('outbox'), getAll('attachments')]);
  const lastAcked = (await get('meta', 'lastMutationID')) || 0;
  const byRequest = new Map();
  const note = (id) => { if (!byRequest.has(id)) byRequest.set(id, { mutations: [], photos: 0, failedPhotos: [] }); return byRequest.get(id); };
  for (const m of outbox) if (m.id > lastAcked && m.args && m.args.requestId) note(m.args.requestId).mutations.push(m);
  let photos = 0;
  for (const a of atts) {
    if (a.failed) note(a.requestId).failedPhotos.push(a.failed);
    else if (!a.sentAt) { note(a.requestId).photos++; photos++; }
  }
  const waiting = [...byRequest.values()].filter((v) => v.mutations.length || v.photos).length;
  return { requests: waiting, photos, byRequest };
}

/** kick schedules a sync round now (start, online, visibility, poke, new mutation). */
export function kick(reason = 'kick') {
  clearTimeout(timer);
  timer = setTimeout(() => run(reason), 0);
}

function schedule(ms) {
  clearTimeout(timer);
  timer = setTimeout(() => run('timer'), ms);
}

/** run performs one sync round while holding the cross-tab lock. */
export async function run(reason) {
  if (!session()) return;
  if (running) { again = true; return; }
  running = true;
  try {
    const body = async () => { do { again = false; await round(); } while (again); };
    if (navigator.locks) await navigator.locks.request(LOCK, body);
    else await body();
  } finally {
    running = false;
  }
}

async function round() {
  const s = session();
  if (!s || !currentName()) return;
  // every step writes to the database this round started with
  const d = at(currentName());
  state.phase = 'syncing';
  state.error = null;
  emit();
  let next = PERIOD_MS;
  try {
    const id = await d.tx(['meta'], 'readwrite', (t) => clientID(t));
    await pushAll(d, id);
    if (await pullAll(d, id)) {
      // the server was restored: what it lost is queued again, send it now
      await pushAll(d, id);
      await pullAll(d, id);
    }
    if (await uploadAll(d, s.token)) await pullAll(d, id);
    await cacheQRs(d);
    await cacheFeeQRs(d);
    failures = 0;
    state.phase = 'idle';
  } catch (err) {
    failures++;
    state.error = err.message;
    if (err instanceof NetworkError || err instanceof TypeError) state.phase = 'offline';
    else if (err instanceof HttpError && err.status === 401) { state.phase = 'auth'; setSession(null); }
    else state.phase = 'error';
    const retryAfter = err instanceof HttpError && Number(err.headers && err.headers.get('Retry-After'));
    // exponential backoff with jitter, capped at 5 minutes
    next = retryAfter ? retryAfter * 1000 : Math.min(300_000, 2000 * 2 ** Math.min(failures, 8)) * (0.5 + Math.random() / 2);
    if (state.phase !== 'offline' && state.phase !== 'auth') console.error('sync:', err);
  } finally {
    state.photo = null;
    emit(true);
    if (session()) schedule(next);
  }
}

async function pushAll(d, clientIDValue) {
  let limit = MAX_BATCH;
  let lastGap = -1;
  for (let guard = 0; guard < 1000; guard++) {
    const through = Math.max((await d.get('meta', 'pushedThrough')) || 0, (await d.get('meta', 'lastMutationID')) || 0);
    const outbox = (await d.getAll('outbox')).filter((m) => m.id > through);
    if (!outbox.length) return;
    const batch = [];
    let bytes = 0;
    for (const m of outbox) {
      const item = { id: m.id, name: m.name, clientTime: m.clientTime, args: m.args };
      const size = JSON.stringify(item).length;
      if (batch.length && (batch.length >= limit || bytes + size > MAX_BATCH_BYTES)) break;
      batch.push(item);
      bytes += size;
    }
    let res;
    try {
      res = await request('POST', '/api/mobile/sync/push', { body: { clientID: clientIDValue, mutations: batch } });
    } catch (err) {
      if (err instanceof HttpError && err.status === 409 && err.body && err.body.data && err.body.data.code === 'mutation_gap') {
        // the mutations before the gap were applied: note their rejections
        for (const r of err.body.data.results || []) if (r.error) await markRejected(d, batch.find((m) => m.id === r.id), r.error);
        const last = Number(err.body.data.lastMutationID) || 0;
        if (last === lastGap) throw err; // the same gap twice: do not loop, back off
        lastGap = last;
        await closeGap(d, last);
        continue;
      }
      if (err instanceof HttpError && err.status === 413 && limit > 1) { limit = Math.max(1, Math.floor(batch.length / 2)); continue; }
      throw err;
    }
    const data = res.data || {};
    for (const r of data.results || []) {
      if (r.error && (r.status === 'rejected' || r.status === 'duplicate')) {
        await markRejected(d, batch.find((m) => m.id === r.id), r.error);
      }
    }
    await d.put('meta', Number(data.lastMutationID) || batch[batch.length - 1].id, 'pushedThrough');
  }
}

/**
 * closeGap handles 409 mutation_gap: the server has applied exactly `last`.
 * If the outbox still holds last+1 we simply resend from there; if those
 * entries are gone (the server lost acknowledged state, e.g. a restore), the
 * remaining mutations are renumbered to follow `last`.
 */
async function closeGap(d, last) {
  await d.tx(['meta', 'outbox', 'requests', 'receipts', 'attachments'], 'readwrite', async (t) => {
    const meta = t.objectStore('meta');
    const box = t.objectStore('outbox');
    if (last < ((await p(meta.get('lastMutationID'))) || 0)) {
      await requeueLost(t, last, 'gap');
      return;
    }
    const rest = (await p(box.getAll())).filter((m) => m.id > last);
    // the server has forgotten mutations a pull already acknowledged: it went back
    // in time (a restored backup), so our cursor may point into a reused change
    // sequence; pull everything again
    if (last < ((await p(meta.get('lastMutationID'))) || 0)) await p(meta.delete('cursor'));
    await p(meta.put(last, 'pushedThrough'));
    await p(meta.put(last, 'lastMutationID'));
    if (!rest.length || rest[0].id === last + 1) return;
    await p(box.clear());
    let id = last + 1;
    for (const m of rest) {
      const old = m.id;
      m.id = id++;
      await p(box.put(m));
      if (m.name === 'request.create') {
        const row = await p(t.objectStore('requests').get(m.args.requestId));
        if (row && row._mutation === old) { row._mutation = m.id; await p(t.objectStore('requests').put(row)); }
      }
    }
    await p(meta.put(id, 'nextMutationID'));
  });
}

async function markRejected(d, m, error) {
  if (!m) return;
  await d.tx(['meta', 'requests', 'attachments'], 'readwrite', async (t) => {
    const reqId = m.args && m.args.requestId;
    if (m.name === 'request.create') {
      const row = await p(t.objectStore('requests').get(reqId));
      if (row && row._local) { row._rejected = error; await p(t.objectStore('requests').put(row)); }
      // photos of a refused request can never be attached
      for (const a of await p(t.objectStore('attachments').index('request').getAll(reqId))) await p(t.objectStore('attachments').delete(a.attachmentId));
    } else {
      const meta = t.objectStore('meta');
      const list = (await p(meta.get('rejections'))) || [];
      if (!list.some((x) => x.mutation === m.id)) list.push({ mutation: m.id, name: m.name, requestId: reqId, error, at: new Date().toISOString() });
      await p(meta.put(list.slice(-50), 'rejections'));
    }
  });
}

/** pullAll pulls until idle; true when it found that the server was restored. */
async function pullAll(d, clientIDValue) {
  let restored = false;
  for (let guard = 0; guard < 10000; guard++) {
    const cursor = (await d.get('meta', 'cursor')) ?? null;
    const { data } = await request('POST', '/api/mobile/sync/pull', { body: { clientID: clientIDValue, cursor, limit: 200 } });
    const res = await applyPull(d, data);
    if (res && res.restored) { restored = true; if (!data.reset) continue; } // pull everything again
    if (!data.hasMore) return restored;
  }
  return restored;
}

/**
 * requeueLost runs inside a transaction over meta, outbox, requests, receipts
 * and attachments when the server turns out to have gone back in time (a
 * restore: its epoch changed, or its lastMutationID for us is below what a
 * pull already acknowledged). `last` is what the server still has. The kept
 * acknowledged mutations after `last` and the queue are renumbered to follow
 * it, a request.create carrying its receipt so the server keeps its number;
 * record ids (requestId, eventId, attachmentId) stay, so each lands once.
 * Every photo sent within the grace window is offered again (creation is
 * idempotent per attachmentId: one the server still has costs one request).
 */
async function requeueLost(t, last, why) {
  const S = (n) => t.objectStore(n);
  const meta = S('meta');
  const retained = (await p(meta.get('retained'))) || [];
  const lost = retained.filter((m) => m.id > last);
  const queued = (await p(S('outbox').getAll())).filter((m) => m.id > last);
  const all = [...lost, ...queued].sort((a, b) => a.id - b.id);
  for (const m of queued) await p(S('outbox').delete(m.id));
  let id = last + 1;
  for (const m of all) {
    const old = m.id;
    const item = { id: id++, name: m.name, clientTime: m.clientTime, args: { ...m.args } };
    if (m.name === 'request.create') {
      let code = m.receipt;
      if (!code) {
        const rcs = await p(S('receipts').index('request').getAll(m.args.requestId));
        const rc = rcs.find((r) => r.kind === 'received');
        code = rc && rc.code;
      }
      if (code) item.args.receipt = code;
      const row = await p(S('requests').get(m.args.requestId));
      if (row && (row._mutation === old || !row._local)) {
        // shown as waiting again until the server has it back (its number stays visible)
        await p(S('requests').put({ ...row, _local: true, _mutation: item.id, _repush: true }));
      }
    }
    await p(S('outbox').put(item));
  }
  await p(meta.put(retained.filter((m) => m.id <= last), 'retained'));
  await p(meta.put(id, 'nextMutationID'));
  await p(meta.put(last, 'lastMutationID'));
  await p(meta.put(last, 'pushedThrough'));
  await p(meta.delete('cursor'));
  for (const a of await p(S('attachments').getAll())) {
    if (a.sentAt && a.data) await p(S('attachments').put({ ...a, sentAt: null, uploadUrl: null }));
  }
  const log = (await p(meta.get('restores'))) || [];
  log.push({ at: new Date().toISOString(), why, serverHad: last, requeued: lost.length, queued: queued.length });
  await p(meta.put(log.slice(-10), 'restores'));
}

/** applyPull stores one pull page and acknowledges the outbox (exported for tests). */
export async function applyPull(d, data) {
  return d.tx(['meta', 'outbox', 'requests', 'events', 'receipts', 'attachments', 'fees'], 'readwrite', async (t) => {
    const S = (n) => t.objectStore(n);
    const meta0 = S('meta');
    const epoch = (await p(meta0.get('epoch'))) || null;
    const seen = (await p(meta0.get('lastMutationID'))) || 0;
    const serverHas = Number(data.lastMutationID) || 0;
    // the server went back in time: a new epoch, or it forgot what it acknowledged
    const restored = (epoch && data.epoch && data.epoch !== epoch) || serverHas < seen;
    if (data.epoch) await p(meta0.put(data.epoch, 'epoch'));
    if (restored) {
      await requeueLost(t, serverHas, data.epoch !== epoch ? 'epoch' : 'lastMutationID');
      if (!data.reset) return { restored: true }; // this page belongs to the old cursor: pull a reset
    }
    if (data.reset) {
      // full state follows: forget server rows, keep what only this device has
      for (const row of await p(S('requests').getAll())) if (!row._local) await p(S('requests').delete(row.id));
      await p(S('events').clear());
      await p(S('receipts').clear());
      await p(S('fees').clear());
    }
    for (const ch of data.changes || []) {
      const store = STORES[ch.collection];
      if (!store || !ch.id) continue;
      if (ch.op === 'del') await p(S(store).delete(ch.id));
      else {
        const row = { ...(ch.data || {}), id: ch.id };
        if (!row.created) {
          // keep a date to show and sort by when the server sends none
          const prev = await p(S(store).get(ch.id));
          row.created = (prev && prev.created) || row.reported_at || row.issued_at || '';
        }
        await p(S(store).put(row));
      }
    }
    const meta = S('meta');
    if (data.cursor !== undefined) await p(meta.put(data.cursor, 'cursor'));
    const last = Number(data.lastMutationID) || 0;
    await p(meta.put(last, 'lastMutationID'));
    if ((await p(meta.get('pushedThrough')) || 0) < last) await p(meta.put(last, 'pushedThrough'));
    if (data.hasMore) return { restored };
    // acknowledged: drop from the outbox into the grace copy; a create the server never delivered was refused
    const range = IDBKeyRange.upperBound(last);
    const now = Date.now();
    const rejections = (await p(meta.get('rejections'))) || [];
    const retained = ((await p(meta.get('retained'))) || []).filter((m) => !restored || m.id <= last);
    for (const m of await p(S('outbox').getAll(range))) {
      let keep = !rejections.some((x) => x.mutation === m.id);
      if (m.name === 'request.create') {
        const row = await p(S('requests').get(m.args.requestId));
        if (row && row._local && !row._rejected) { row._rejected = { code: 'rejected', message: '' }; await p(S('requests').put(row)); }
        if (!row || row._rejected) keep = false;
        else {
          const rc = (await p(S('receipts').index('request').getAll(m.args.requestId))).find((r) => r.kind === 'received');
          if (rc) m.receipt = rc.code;
        }
      }
      if (keep) retained.push({ ...m, ackedAt: now });
    }
    await p(S('outbox').delete(range));
    // past the grace window, and this pull showed the server still in the same epoch: safe to forget
    const fresh = retained.filter((m) => now - m.ackedAt < GRACE_MS);
    await p(meta.put(fresh, 'retained'));
    for (const a of await p(S('attachments').getAll())) {
      if (a.sentAt && now - a.sentAt >= GRACE_MS) await p(S('attachments').delete(a.attachmentId));
    }
    return { restored };
  });
}

/** uploadAll sends every queued photo; returns true when one completed. */
async function uploadAll(d, token) {
  const atts = (await d.getAll('attachments')).filter((a) => !a.failed && a.data && !a.sentAt);
  let done = false;
  for (let i = 0; i < atts.length; i++) {
    const att = atts[i];
    state.photo = { i: i + 1, n: atts.length, sent: 0, total: att.size };
    emit();
    try {
      await upload({
        endpoint: UPLOADS, auth: token, att,
        onUrl: async (url) => { att.uploadUrl = url; await d.put('attachments', att); },
        onProgress: (sent, total) => { state.photo = { i: i + 1, n: atts.length, sent, total }; emit(false); },
      });
      // kept for the grace window: a restored server may need it again
      await d.put('attachments', { ...att, sentAt: Date.now() });
      done = true;
    } catch (err) {
      if (!(err instanceof TusError && err.permanent)) throw err.name === 'TypeError' ? new NetworkError(err.message) : err;
      // the server refused this photo for good: keep the reason, free the bytes
      await d.put('attachments', { ...att, data: null, failed: { status: err.status, message: err.message } });
      done = true;
    }
  }
  return done;
}

/** cacheQRs stores each receipt's QR PNG (owner-only route) for offline display. */
async function cacheQRs(d) {
  for (const r of await d.getAll('receipts')) {
    if (await d.get('qr', r.id)) continue;
    try {
      const res = await request('GET', r.qr || `/api/mobile/receipts/${encodeURIComponent(r.id)}/qr.png`, { raw: true });
      await d.put('qr', { type: res.headers.get('Content-Type') || 'image/png', data: await res.arrayBuffer() }, r.id);
      emit(true);
    } catch (err) {
      if (err instanceof NetworkError) throw err;
      console.warn(`sync: QR of receipt ${r.id}:`, err.message);
    }
  }
}

/** cacheFeeQRs stores each open fee's payment code PNG, so the Pay view shows it offline. */
async function cacheFeeQRs(d) {
  for (const f of await d.getAll('fees')) {
    if (!f.instruction || !f.instruction.qr || !['due', 'pending', 'expired'].includes(f.state)) continue;
    const key = `fee:${f.id}:${f.updated || ''}`;
    if (await d.get('qr', key)) continue;
    try {
      const res = await request('GET', f.qr || `/api/payments/fees/${encodeURIComponent(f.id)}/qr.png`, { raw: true });
      await d.put('qr', { type: res.headers.get('Content-Type') || 'image/png', data: await res.arrayBuffer() }, key);
      emit(true);
    } catch (err) {
      if (err instanceof NetworkError) throw err;
      console.warn(`sync: payment code of fee ${f.id}:`, err.message);
    }
  }
}

/** askOthersToSync tells the tab holding the lock (if any) that there is new work. */
export function askOthersToSync() { if (channel) channel.postMessage({ kick: true }); }

// --- consultations (ballot.cast, docs/consultations.md) ---

/**
 * castBallot queues ballot.cast and keeps the ballot on this device
 * (meta `ballot:{consultationId}`) in the same transaction. The choice stays
 * here: the server answers only with versions and receipts.
 */
export async function castBallot(consultationId, baseVersion, answers) {
  await enqueue('ballot.cast', { consultationId, baseVersion, answers }, [], async (t, id, clientTime) => {
    await p(t.objectStore('meta').put({ consultationId, baseVersion, answers, mutation: id, clientTime }, `ballot:${consultationId}`));
  });
}

// ---- citizen-app (issue 13): the conversation, edits, "not fixed", rating ----

/**
 * queueWithPhotos queues mutation `name` with args and its photos
 * ([{data, type, sha256}], uploaded over tus to args.requestId) in ONE
 * transaction, like fileRequest. Returns the attachment ids.
 */
export async function queueWithPhotos(name, args, photos = []) {
  const atts = photos.map((ph) => ({
    attachmentId: ulid(), requestId: args.requestId, data: ph.data, type: ph.type, size: ph.data.byteLength, sha256: ph.sha256, uploadUrl: null,
  }));
  await enqueue(name, args, ['attachments'], async (t) => {
    for (const a of atts) await p(t.objectStore('attachments').put(a));
  });
  return atts.map((a) => a.attachmentId);
}

/** replyRequest answers the city's question: a comment (hooks/ moves the request back to the clerk) and photos. */
export const replyRequest = (requestId, message, photos) => queueWithPhotos('request.comment', { eventId: recordId(), requestId, message }, photos);

/** editRequest queues request.edit with the changed fields only. */
export const editRequest = (requestId, changes) => queueWithPhotos('request.edit', { requestId, ...changes });

/** notFixed queues request.notFixed with the reason and photos. */
export const notFixed = (requestId, message, photos) => queueWithPhotos('request.notFixed', { eventId: recordId(), requestId, message }, photos);

/** rateRequest queues request.rate (the outcome questionnaire). */
export const rateRequest = (requestId, answers) => queueWithPhotos('request.rate', { requestId, ...answers });
