// IndexedDB: the device's copy of the citizen's data and the outbox.
// Stores: meta (key/value: clientID, nextMutationID, cursor, catalog...),
// outbox (mutations by id), attachments (photos as ArrayBuffer, by attachmentId),
// requests / events / receipts (what pull delivered, plus local pending rows),
// qr (receipt id -> cached QR PNG bytes).

const DB_NAME = 'civicdesk';
const DB_VERSION = 1;
let dbPromise = null;

/** openDB opens (and on first use creates) the database. */
export function openDB() {
  if (dbPromise) return dbPromise;
  dbPromise = new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
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
      db.onversionchange = () => { db.close(); dbPromise = null; };
      resolve(db);
    };
    req.onerror = () => reject(req.error);
  });
  return dbPromise;
}

/** p turns an IDBRequest into a promise (safe to await inside a transaction). */
export function p(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/**
 * tx runs fn(t) in one transaction over stores and resolves with fn's result
 * once the transaction has committed. fn may await only IndexedDB requests
 * (any other await would let the transaction auto-commit early).
 */
export async function tx(stores, mode, fn) {
  const db = await openDB();
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

/** get reads one value. */
export const get = (store, key) => tx([store], 'readonly', (t) => p(t.objectStore(store).get(key)));
/** getAll reads every value of a store (or of an index with a key). */
export const getAll = (store, index, key) => tx([store], 'readonly', (t) => {
  const s = t.objectStore(store);
  return p(index ? s.index(index).getAll(key) : s.getAll());
});
/** put writes one value (key for stores without a keyPath). */
export const put = (store, value, key) => tx([store], 'readwrite', (t) => p(t.objectStore(store).put(value, key)));
/** del deletes one key. */
export const del = (store, key) => tx([store], 'readwrite', (t) => p(t.objectStore(store).delete(key)));

/** wipe clears everything (another citizen signs in on this device). */
export const wipe = () => tx(['meta', 'outbox', 'attachments', 'requests', 'events', 'receipts', 'qr'], 'readwrite',
  (t) => Promise.all(Array.from(t.objectStoreNames, (n) => p(t.objectStore(n).clear()))));
