// Citizen PWA push opt-in and notifications, end to end: permission is asked
// only after the tap; the subscription reaches the server (push API, with the
// shown language); a clerk's status change makes the server send an encrypted
// push to a fake push service, which we decrypt (http_ece) and deliver to the
// app's service worker (CDP), which shows it; its URL opens the request.
// The browser's own push service (FCM) is unreachable here, so PushManager is
// replaced by a stub that returns a subscription on the fake service.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createECDH, randomBytes } from 'node:crypto';
import ece from 'http_ece';
import { startServer, freePort, login, api } from './lib/server.js';
import { launch, signUp, filePothole, waitFor, PASSWORD } from './lib/pwa.js';

let srv;
let b;
let fake;
const received = [];
let port;

before(async () => {
  port = await freePort();
  fake = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => { received.push({ path: req.url, headers: req.headers, body: Buffer.concat(chunks) }); res.writeHead(201); res.end(); });
  });
  await new Promise((r) => fake.listen(port, '127.0.0.1', r));
  srv = await startServer({ env: { CIVICDESK_PUSH_ALLOW_HOSTS: `127.0.0.1:${port}` } });
  b = await launch();
});
after(async () => { await b?.close(); await srv?.stop(); fake?.close(); });

test('push: opt-in after a tap, server push decrypted and shown by the service worker', async () => {
  const { page, context } = b;
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const keys = { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') };
  const endpoint = `http://127.0.0.1:${port}/push/${randomBytes(8).toString('hex')}`;
  await context.addInitScript(({ endpoint, keys }) => {
    window.__permissionAsked = 0;
    Notification.requestPermission = async () => { window.__permissionAsked++; return 'granted'; };
    let sub = null;
    PushManager.prototype.getSubscription = async () => sub;
    PushManager.prototype.subscribe = async (opts) => {
      window.__serverKeyBytes = new Uint8Array(opts.applicationServerKey).length;
      sub = { endpoint, toJSON: () => ({ endpoint, keys }), unsubscribe: async () => { sub = null; return true; } };
      return sub;
    };
  }, { endpoint, keys });
  await context.grantPermissions(['notifications', 'geolocation'], { origin: srv.url }); // for the worker's showNotification

  const email = await signUp(page, srv.url);
  const id = await filePothole(page, { photos: 0 });
  await waitFor(async () => /^\d{4}-\d+$/.test((await page.textContent('#request-number')).trim()), { what: 'number' });

  await page.click('nav a[href="/settings"]');
  await page.waitForSelector('#push-enable');
  assert.equal(await page.evaluate(() => window.__permissionAsked), 0, 'no permission prompt before the tap');
  await page.click('#push-enable');
  await waitFor(async () => /Notifications are on/.test(await page.textContent('#push-status')), { what: 'push on' });
  assert.equal(await page.evaluate(() => window.__permissionAsked), 1);
  assert.equal(await page.evaluate(() => window.__serverKeyBytes), 65, 'the VAPID key is a P-256 point');

  const { token } = await login(srv.url, 'citizens', email, PASSWORD);
  const subs = await api(srv.url, 'GET', '/api/collections/push_subscriptions/records?skipTotal=1', { token });
  assert.equal(subs.status, 200, JSON.stringify(subs.body));
  assert.equal(subs.body.items.length, 1);
  assert.equal(subs.body.items[0].endpoint, endpoint);
  assert.equal(subs.body.items[0].lang, 'en');

  const clerk = await login(srv.url, 'staff', 'clerk.roads@demo.civicdesk.example');
  const r = await api(srv.url, 'PATCH', `/api/collections/requests/records/${id}`, { token: clerk.token, body: { status: 'in_progress', status_note: 'On our way.' } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const push = await waitFor(() => received.find((x) => x.path === new URL(endpoint).pathname), { timeout: 30000, what: 'a push at the fake push service' });
  const payload = JSON.parse(ece.decrypt(push.body, { version: 'aes128gcm', privateKey: ecdh, authSecret: keys.auth }).toString());
  assert.equal(payload.status, 'in_progress');
  assert.ok(payload.title && payload.body && payload.url, JSON.stringify(payload));

  // deliver the decrypted payload to the app's worker as the push service would
  const cdp = await context.newCDPSession(page);
  const regs = [];
  cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => regs.push(...e.registrations));
  await cdp.send('ServiceWorker.enable');
  const reg = await waitFor(() => regs.find((x) => x.scopeURL === `${srv.url}/` && !x.isDeleted), { what: 'worker registration' });
  await cdp.send('ServiceWorker.deliverPushMessage', { origin: srv.url, registrationId: reg.registrationId, data: JSON.stringify(payload) });
  const shown = await waitFor(() => page.evaluate(async () => {
    const n = await (await navigator.serviceWorker.ready).getNotifications();
    return n.length ? n.map((x) => ({ title: x.title, body: x.body, tag: x.tag, url: x.data && x.data.url })) : null;
  }), { what: 'the notification shown by the worker' });
  assert.deepEqual(shown, [{ title: payload.title, body: payload.body, tag: payload.tag, url: payload.url }]);

  // the notification's URL opens the request in the app
  await page.goto(payload.url);
  await page.waitForSelector('#request-status');
  assert.equal(new URL(page.url()).pathname, `/requests/${id}`);
  assert.match(await page.textContent('#request-status'), /In progress/);
});
