// Staff web push opt-in in the console, against the real binary: a clerk turns
// notifications on in Settings (the console's own service worker at /staff/, the
// city's VAPID key, POST /api/staff/push/subscriptions); a supervisor assigns a
// request to the clerk; the server's push reaches the clerk's push service (a
// local fake on loopback that takes RFC 8030 POSTs), decrypts (RFC 8291) to the
// title and the console link, and that link opens the request. Turning it off
// removes the device on the server and in the browser.
//
// Chromium's own push service (FCM) is not reachable from a test machine, so the
// page's PushManager hands out a subscription on the fake service with keys
// made here — everything after the browser's subscribe() is the real path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createECDH, randomBytes } from 'node:crypto';
import ece from 'http_ece';
import { execFileSync } from 'node:child_process';
import { startServer, freePort, api, binary } from './lib/server.js';
import { waitFor } from './lib/pwa.js';
import { launch, signIn, clerk, SUPERVISOR, token, filePothole } from './lib/console.js';

let srv;
let fake;
let b;
const received = [];

before(async () => {
  const port = await freePort();
  fake = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => { received.push({ path: req.url, body: Buffer.concat(chunks) }); res.writeHead(201); res.end(); });
  });
  await new Promise((r) => fake.listen(port, '127.0.0.1', r));
  fake.port = port;
  srv = await startServer({ env: { CIVICDESK_PUSH_ALLOW_HOSTS: `127.0.0.1:${port}`, CIVICDESK_PUSH_SUBJECT: 'ops@city.example' } });
  b = await launch();
});
after(async () => { await b?.close(); await srv?.stop(); fake?.close(); });

test('a clerk opts in to web push, an assignment reaches the device and its link opens the request; opting out removes it', async () => {
  const { page, context } = b;
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = randomBytes(16);
  const path = `/push/${randomBytes(6).toString('hex')}`;
  const sub = { endpoint: `http://127.0.0.1:${fake.port}${path}`, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') } };
  await context.grantPermissions(['notifications'], { origin: srv.url });
  await context.addInitScript((s) => {
    // the browser's push service, replaced by the fake one; the subscription lives as long as the page's storage
    const KEY = 'e2e.push.subscription';
    const make = () => ({ endpoint: s.endpoint, toJSON: () => ({ endpoint: s.endpoint, keys: s.keys }), unsubscribe: async () => { localStorage.removeItem(KEY); return true; } });
    PushManager.prototype.subscribe = async function subscribe(opts) {
      if (!opts || !opts.applicationServerKey || !opts.applicationServerKey.byteLength) throw new Error('no VAPID key');
      localStorage.setItem(KEY, '1');
      return make();
    };
    PushManager.prototype.getSubscription = async function getSubscription() { return localStorage.getItem(KEY) ? make() : null; };
  }, sub);

  const roads = clerk('roads');
  await signIn(page, srv, roads);
  await page.evaluate(() => { location.hash = '#/settings'; });
  await page.waitForSelector('#push-state[data-state="off"]');
  await page.click('#push-toggle');
  await page.waitForSelector('#push-state[data-state="on"]');
  assert.equal(await page.evaluate(async () => (await navigator.serviceWorker.getRegistration('/staff/'))?.scope), `${srv.url}/staff/`, 'the console\'s own worker');

  // a supervisor assigns a request of the clerk's department to them
  const req = await filePothole(srv, { description: 'push e2e' });
  const clerkId = await page.evaluate(() => JSON.parse(localStorage.getItem('pocketbase_auth')).record.id);
  const sup = await token(srv, 'staff', SUPERVISOR);
  const r = await api(srv.url, 'PATCH', `/api/collections/requests/records/${req.id}`, { token: sup, body: { assignee: clerkId } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const got = await waitFor(() => received.find((x) => x.path === path), { timeout: 60000, what: 'the staff push' });
  const payload = JSON.parse(ece.decrypt(got.body, { version: 'aes128gcm', privateKey: ecdh, authSecret: auth }).toString());
  assert.equal(payload.title, `Assigned to you: ${req.number}`);
  assert.equal(new URL(payload.url).pathname + new URL(payload.url).hash, `/staff/#/requests/${req.id}`);
  assert.doesNotMatch(JSON.stringify(payload), /push e2e|citizen@/, 'no personal data in the push');

  // the push's link opens the request in the console
  await page.goto(payload.url.replace(/^https?:\/\/[^/]+/, srv.url));
  await page.waitForSelector('#file-title');
  assert.match(await page.textContent('#file-title'), new RegExp(req.number));

  // opting out removes the device on the server (read as a superuser: push_subscriptions has no API rules)
  const suEmail = `root-${Date.now()}@e2e.civicdesk.example`;
  execFileSync(binary(), ['superuser', 'upsert', suEmail, 'correct-horse-battery-9', '--dir', srv.dataDir], { env: srv.env, stdio: 'pipe' });
  const su = (await api(srv.url, 'POST', '/api/collections/_superusers/auth-with-password', { body: { identity: suEmail, password: 'correct-horse-battery-9' } })).body.token;
  const rows = async () => (await api(srv.url, 'GET', `/api/collections/push_subscriptions/records?filter=${encodeURIComponent(`endpoint='${sub.endpoint}'`)}`, { token: su })).body.items;
  const on = await rows();
  assert.equal(on.length, 1);
  assert.equal(on[0].staff, clerkId);
  assert.equal(on[0].lang, 'en');
  await page.evaluate(() => { location.hash = '#/settings'; });
  await page.waitForSelector('#push-state[data-state="on"]');
  await page.click('#push-toggle');
  await page.waitForSelector('#push-state[data-state="off"]');
  assert.deepEqual(await rows(), [], 'the device is gone on the server');
  assert.equal(await page.evaluate(() => localStorage.getItem('e2e.push.subscription')), null, 'and unsubscribed in the browser');
  assert.deepEqual(b.errors.filter((e) => !/status of 4\d\d/.test(e)), [], 'no page errors');
  b.csp.assertNone('settings with web push');
});
