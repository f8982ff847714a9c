// Service worker of the receipt verifier, scoped to /verify/: keeps the page's
// files for offline use (network first, so a new binary's files take over at
// once). The page itself caches the JWKS and the service names (DATA cache).
const SHELL_CACHE = 'civicdesk-verify-shell-v1';
const DATA_CACHE = 'civicdesk-verify-data-v1';
const SHELL = ['./', './verify.css', './verify.js', './receipt.js', './i18n.js', './vendor/jsQR.js'];
const TIMEOUT_MS = 4000;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('civicdesk-verify-') && name !== SHELL_CACHE && name !== DATA_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  const scope = new URL(self.registration.scope);
  if (!url.pathname.startsWith(scope.pathname)) return; // JWKS and API calls: the page handles them
  event.respondWith((async () => {
    const cache = await caches.open(SHELL_CACHE);
    const key = url.pathname === scope.pathname || url.pathname.endsWith('/index.html') ? './' : event.request;
    try {
      const res = await fetch(event.request, { signal: AbortSignal.timeout(TIMEOUT_MS) });
      if (res.ok) await cache.put(key, res.clone());
      return res;
    } catch (err) {
      // ignoreVary: PocketBase sends "Vary: Origin", and module scripts are fetched with an Origin header
      const hit = await cache.match(key, { ignoreSearch: true, ignoreVary: true });
      if (hit) return hit;
      throw err;
    }
  })());
});
