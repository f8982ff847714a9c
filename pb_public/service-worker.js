// civicdesk citizen app service worker.
// The shell is precached into a cache named by a hash of its files, so one
// version's files are never mixed with another's: a new worker installs its
// whole cache, waits until the page asks it to take over (or every tab has
// closed), then deletes the older caches. The list and the version below are
// written by scripts/pwa-precache.mjs (e2e/pwa-shell.test.js fails if stale).

// PRECACHE-BEGIN (generated: node scripts/pwa-precache.mjs)
const VERSION = '7cd21a7d1cee93b1';
const SHELL = [
  '/app/api.js',
  '/app/catalog.js',
  '/app/counter.js',
  '/app/db.js',
  '/app/dom.js',
  '/app/form.js',
  '/app/i18n.js',
  '/app/ids.js',
  '/app/lang/en.js',
  '/app/lang/et.js',
  '/app/lang/hu.js',
  '/app/lang/it.js',
  '/app/lang/sv.js',
  '/app/main.js',
  '/app/map.js',
  '/app/photopicker.js',
  '/app/photos.js',
  '/app/push.js',
  '/app/realtime.js',
  '/app/sync.js',
  '/app/tus.js',
  '/app/views/auth.js',
  '/app/views/consultations.js',
  '/app/views/conversation.js',
  '/app/views/file.js',
  '/app/views/location.js',
  '/app/views/pay.js',
  '/app/views/paycard.js',
  '/app/views/public.js',
  '/app/views/receipts.js',
  '/app/views/requests.js',
  '/app/views/settings.js',
  '/icons/icon-192.png',
  '/icons/icon-512.png',
  '/',
  '/manifest.webmanifest',
  '/styles.css',
];
// PRECACHE-END

const CACHE = `civicdesk-shell-${VERSION}`;
// Paths the worker never answers: APIs, the dashboard, the other web apps.
const PASS = /^\/(api|_|staff|verify|\.well-known)(\/|$)/;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // cache: 'reload' bypasses the HTTP cache, so every file is this version's
    await cache.addAll(SHELL.map((u) => new Request(u, { cache: 'reload' })));
    // the first install has no page to disturb: take over at once
    if (!self.registration.active) await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith('civicdesk-shell-') && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('message', (event) => {
  if (event.data && event.data.type === 'skipWaiting') self.skipWaiting();
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || PASS.test(url.pathname)) return;
  if (req.mode === 'navigate') {
    // every app route is the same document: answer from this version's shell
    event.respondWith((async () => {
      const cache = await caches.open(CACHE);
      return (await cache.match('/', { ignoreVary: true })) || fetch(req);
    })());
    return;
  }
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    // ignoreVary: the server says Vary: Origin and module scripts carry an Origin header
    return (await cache.match(req, { ignoreSearch: true, ignoreVary: true })) || fetch(req);
  })());
});

self.addEventListener('push', (event) => {
  let d = {};
  try { d = event.data ? event.data.json() : {}; } catch { d = { body: event.data && event.data.text() }; }
  event.waitUntil((async () => {
    await self.registration.showNotification(d.title || 'civicdesk', {
      body: d.body || '',
      tag: d.tag || undefined,
      renotify: !!d.tag,
      icon: '/icons/icon-192.png',
      badge: '/icons/icon-192.png',
      lang: d.lang || undefined,
      data: { url: d.url || '/requests' },
    });
    // open pages pull now: the push means something changed
    for (const c of await self.clients.matchAll({ type: 'window' })) c.postMessage({ type: 'sync' });
  })());
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  let target = new URL((event.notification.data && event.notification.data.url) || '/requests', self.location.origin);
  if (target.origin !== self.location.origin) target = new URL('/requests', self.location.origin);
  event.waitUntil((async () => {
    const wins = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const win = wins.find((c) => new URL(c.url).origin === self.location.origin);
    if (win) {
      await win.focus();
      win.postMessage({ type: 'open', url: target.pathname + target.search + target.hash });
      return;
    }
    await self.clients.openWindow(target.href);
  })());
});
