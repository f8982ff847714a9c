// IndexedDB. Each citizen who signs in on the device gets a database of their
// own, `civicdesk-{citizenId}`: their outbox survives another person using the
// device, and nothing of one citizen is ever pushed under another's clientID.
// Stores: meta (key/value: clientID, nextMutationID, cursor, lastMutationID...),
// outbox (mutations by id), attachments (photos as ArrayBuffer, by attachmentId),
// requests / events / receipts (what pull delivered, plus local pending rows),
// qr (receipt id -> cached QR PNG bytes; "fee:" + fee id -> the payment code PNG),
// fees (the request's fee with its payment instruction, from pull). The catalogue (no personal data) lives
// in the `meta` store of the shared database `civicdesk`.

const SHARED = 'civicdesk';
const DB_VERSION = 2; // 2: fees (payments)
const conns = new Map();
let current = null;

/** useCitizen selects the signed-in citizen's database (null: none). */
export function useCitizen(id) { current = id ? `${SHARED}-${id}` : null; }

/** currentName is the selected citizen's database name (null when signed out). */
export const currentName = () => current;

function openDB(name) {
  if (!name) return Promise.reject(new Error('no citizen database selected'));
  if (conns.has(name)) return conns.get(name);
  const opening = new Promise((resolve, reject) => {
    const req = indexedDB.open(name, DB_VERSION);
    req.onupgradeneeded = (ev) => {
      const db = req.result;
      if (ev.oldVersion >= 1) {
        // payments: a fees store; forget the cursor so the next pull is a reset that brings the fees
        db.createObjectStore('fees', { keyPath: 'id' }).createIndex('request', 'request');
        req.transaction.objectStore('meta').delete('cursor');
        return;
      }
      db.createObjectStore('fees', { keyPath: 'id' }).createIndex('request', 'request');
      db.createObjectStore('meta');
      db.createObjectStore('outbox', { keyPath: 'id' });
      db.createObjectStore('attachments', { keyPath: 'attachmentId' }).createIndex('request', 'requestId');
      db.createObjectStore('requests', { keyPath: 'id' });
      db.createObjectStore('events', { keyPath: 'id' }).createIndex('request', 'request');
      db.createObjectStore('receipts', { keyPath: 'id' }).createIndex('request', 'request');
      db.createObjectStore('qr');
    };
    req.onsuccess = () => {
      const db = req.result;
      // another tab runs a newer version of the app: let it upgrade
      db.onversionchange = () => { db.close(); conns.delete(name); };
      resolve(db);
    };
    req.onerror = () => { conns.delete(name); reject(req.error); };
  });
  conns.set(name, opening);
  return opening;
}

/** p turns an IDBRequest into a promise (safe to await inside a transaction). */
export function p(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/**
 * tx runs fn(t) in one transaction over stores of database `name` (default:
 * the selected citizen's) and resolves with fn's result once the transaction
 * has committed. fn may await only IndexedDB requests (any other await would
 * let the transaction auto-commit early).
 */
export async function tx(stores, mode, fn, name = current) {
  const db = await openDB(name);
  const t = db.transaction(stores, mode, mode === 'readwrite' ? { durability: 'strict' } : undefined);
  const done = new Promise((resolve, reject) => {
    t.oncomplete = () => resolve();
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error || new Error('transaction aborted'));
  });
  let out;
  try {
    out = await fn(t);
  } catch (err) {
    try { t.abort(); } catch { /* already finished */ }
    await done.catch(() => {});
    throw err;
  }
  await done;
  return out;
}

/**
 * at returns helpers bound to one database, so a sync round keeps writing to
 * the database it started with even if the citizen changes meanwhile.
 */
export function at(name) {
  return {
    name,
    tx: (stores, mode, fn) => tx(stores, mode, fn, name),
    get: (store, key) => tx([store], 'readonly', (t) => p(t.objectStore(store).get(key)), name),
    getAll: (store, index, key) => tx([store], 'readonly', (t) => {
      const s = t.objectStore(store);
      return p(index ? s.index(index).getAll(key) : s.getAll());
    }, name),
    put: (store, value, key) => tx([store], 'readwrite', (t) => p(t.objectStore(store).put(value, key)), name),
    del: (store, key) => tx([store], 'readwrite', (t) => p(t.objectStore(store).delete(key)), name),
  };
}

/** get reads one value of the selected citizen's database. */
export const get = (store, key) => at(current).get(store, key);
/** getAll reads every value of a store (or of an index with a key). */
export const getAll = (store, index, key) => at(current).getAll(store, index, key);
/** put writes one value (key for stores without a keyPath). */
export const put = (store, value, key) => at(current).put(store, value, key);
/** del deletes one key. */
export const del = (store, key) => at(current).del(store, key);
/** shared is the device-wide database (the catalogue). */
export const shared = at(SHARED);
