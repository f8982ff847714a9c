// Service worker of the receipt verifier, scoped to /verify/. It keeps what
// the page needs offline: its own files and the city's JWKS (plus the service
// names for display). Everything is network first — a new binary's files and
// a rotated or revoked key take over at once — with the cached copy as the
// offline fallback. Install fetches the JWKS too, so one visit is enough.
const SHELL_CACHE = 'civicdesk-verify-shell-v1';
const DATA_CACHE = 'civicdesk-verify-data-v1';
const SHELL = ['./', './verify.css', './verify.js', './receipt.js', './i18n.js', './vendor/jsQR.js'];
// keep in step with verify.js
const DATA = ['/.well-known/receipt-keys', '/api/collections/services/records?perPage=200&skipTotal=1&fields=code,name,i18n'];
const TIMEOUT_MS = 4000;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    await (await caches.open(SHELL_CACHE)).addAll(SHELL);
    await (await caches.open(DATA_CACHE)).addAll(DATA).catch(() => { /* the page fetches them again */ });
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('civicdesk-verify-') && name !== SHELL_CACHE && name !== DATA_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

async function networkFirst(request, cacheName, key) {
  const cache = await caches.open(cacheName);
  try {
    const res = await fetch(request, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (res.ok) await cache.put(key, res.clone());
    return res;
  } catch (err) {
    // ignoreVary: PocketBase sends "Vary: Origin", and module scripts are fetched with an Origin header
    const hit = await cache.match(key, { ignoreVary: true });
    if (hit) return hit;
    throw err;
  }
}

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  const path = url.pathname + url.search;
  if (DATA.includes(path)) {
    event.respondWith(networkFirst(event.request, DATA_CACHE, path));
    return;
  }
  const scope = new URL(self.registration.scope).pathname;
  if (!url.pathname.startsWith(scope)) return; // other API calls (POST verify is not a GET anyway)
  const key = url.pathname === scope || url.pathname === `${scope}index.html` ? './' : url.pathname;
  event.respondWith(networkFirst(event.request, SHELL_CACHE, key));
});
