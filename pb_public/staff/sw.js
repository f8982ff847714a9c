// The staff console's service worker (scope /staff/): web push only. It caches
// nothing — the console needs the network, and a shared counter PC must not keep
// request data — so there is no fetch handler. A push shows its title (no personal
// data: "Assigned to you: 2026-000042") and a click opens or focuses the console at
// the request.
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let d = {};
  try { d = event.data ? event.data.json() : {}; } catch { d = { title: event.data && event.data.text() }; }
  event.waitUntil(self.registration.showNotification(d.title || 'civicdesk', {
    body: d.body || '',
    tag: d.tag || undefined,
    renotify: !!d.tag,
    icon: '/icons/icon-192.png',
    badge: '/icons/icon-192.png',
    lang: d.lang || undefined,
    data: { url: d.url || '/staff/' },
  }));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  let target = new URL((event.notification.data && event.notification.data.url) || '/staff/', self.location.origin);
  if (target.origin !== self.location.origin || !target.pathname.startsWith('/staff/')) target = new URL('/staff/', self.location.origin);
  event.waitUntil((async () => {
    const wins = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const win = wins.find((c) => new URL(c.url).pathname.startsWith('/staff/'));
    if (win) {
      await win.focus();
      if ('navigate' in win) await win.navigate(target.href).catch(() => {});
      return;
    }
    await self.clients.openWindow(target.href);
  })());
});
