// A clerk's day in the staff console against the real binary: sign in with the
// one-time code from the server's log, take a request, answer it with a response
// template previewed in the citizen's language, resolve it — the next request of
// the list opens; the citizen's pull shows the resolution and a push reaches the
// citizen's (fake, local) push service. A clerk of another department sees
// nothing of the request: not in the queue, not through realtime, not its photo.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createECDH, randomBytes } from 'node:crypto';
import ece from 'http_ece';
import { startServer, freePort, api } from './lib/server.js';
import { testPhoto, waitFor } from './lib/pwa.js';
import { launch, signIn, clerk, SUPERVISOR, CITIZEN, token, serviceId, filePothole } from './lib/console.js';

let srv;
let fake;
const received = [];
let b;

before(async () => {
  const port = await freePort();
  fake = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => { received.push({ path: req.url, body: Buffer.concat(chunks) }); res.writeHead(201); res.end(); });
  });
  await new Promise((r) => fake.listen(port, '127.0.0.1', r));
  fake.port = port;
  // the demo's weeks of history: every department has open requests, as a clerk's morning does
  srv = await startServer({ env: { CIVICDESK_DEMO_HISTORY: 'on', CIVICDESK_PUSH_ALLOW_HOSTS: `127.0.0.1:${port}`, CIVICDESK_PUSH_SUBJECT: 'ops@city.example' } });
  b = await launch();
});
after(async () => { await b?.close(); await srv?.stop(); fake?.close(); });

/** withPhoto files a pothole with one photo (multipart records API) as the demo citizen. */
async function withPhoto(description) {
  const tok = await token(srv, 'citizens', CITIZEN);
  const me = JSON.parse(Buffer.from(tok.split('.')[1], 'base64url').toString()).id;
  const fd = new FormData();
  fd.set('citizen', me);
  fd.set('service', await serviceId(srv, 'pothole'));
  fd.set('answers', JSON.stringify({ size: 'medium' }));
  fd.set('description', description);
  fd.set('address', 'Via Balbi 5');
  fd.set('location', JSON.stringify({ lat: 44.4145, lon: 8.9267 }));
  fd.append('photos', new Blob([testPhoto(640, 480, 3)], { type: 'image/png' }), 'p.png');
  const r = await fetch(`${srv.url}/api/collections/requests/records`, { method: 'POST', headers: { authorization: tok }, body: fd });
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  return body;
}

test('a clerk takes a request, answers with a template in the citizen\'s language, resolves it; the next opens; the citizen sees it and is pushed', async () => {
  const sup = await token(srv, 'staff', SUPERVISOR);
  const pothole = await serviceId(srv, 'pothole');
  for (const [lang, title, body] of [
    ['it', 'Riparata', 'La segnalazione {number} ({service}) è stata risolta: la buca è chiusa. Grazie!'],
    ['en', 'Fixed', 'Request {number} ({service}) is resolved: the hole is filled. Thank you!'],
  ]) {
    const r = await api(srv.url, 'POST', '/api/collections/response_templates/records', { token: sup, body: { service: pothole, status: 'resolved', lang, key: 'e2e-fixed', title, body } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  // the citizen's phone: a push subscription on the fake push service
  const cit = await token(srv, 'citizens', CITIZEN);
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = randomBytes(16);
  const path = `/push/${randomBytes(6).toString('hex')}`;
  const sub = await api(srv.url, 'POST', '/api/mobile/push/subscriptions', {
    token: cit, body: { endpoint: `http://127.0.0.1:${fake.port}${path}`, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') }, lang: 'it' },
  });
  assert.equal(sub.status, 201, JSON.stringify(sub.body));

  const first = await filePothole(srv, { description: 'day: the older one' });
  const second = await filePothole(srv, { description: 'day: the newer one' });

  const { page } = b;
  await signIn(page, srv, clerk('roads'));
  // Unassigned, newest first (the sort stays for the next visit)
  await page.click('#tab-unassigned');
  await page.waitForSelector(`#queue-rows a[data-id="${second.id}"]`);
  await page.click('details.filters summary');
  await page.selectOption('#f-sort', 'created');
  await page.selectOption('#f-dir', 'desc');
  await page.click('#filters-apply');
  await page.waitForFunction((ids) => {
    const rows = [...document.querySelectorAll('#queue-rows tr')].map((tr) => tr.dataset.id);
    return rows[0] === ids[1] && rows[1] === ids[0];
  }, [first.id, second.id]);

  await page.click(`#queue-rows a[data-id="${second.id}"]`);
  await page.waitForSelector('#actions');
  assert.match(await page.textContent('#file-title'), new RegExp(second.number));
  assert.match(await page.textContent('#answers'), /Size/);
  assert.match(await page.textContent('#place'), /44\.40560, 8\.94630/);

  // take it
  await page.click('#assign-me');
  await page.waitForFunction(() => /Clerk \(roads\)/.test(document.getElementById('file-assignee')?.textContent || ''));
  assert.match(await page.textContent('#timeline'), /Internal — staff only/);

  // resolve with the template: the preview is in the citizen's language (Italian)
  await page.selectOption('#act-status', 'resolved');
  // choosing the status preselects a template of that status (the demo city has some)
  await page.waitForFunction(() => document.getElementById('tpl-preview')?.getAttribute('lang') === 'it');
  await page.selectOption('#act-template', { label: 'Fixed (resolved)' });
  await page.waitForFunction(() => /è stata risolta/.test(document.getElementById('tpl-preview')?.textContent || ''));
  assert.equal(await page.getAttribute('#tpl-preview', 'lang'), 'it');
  const preview = await page.textContent('#tpl-preview span[lang]');
  assert.ok(preview.includes(second.number), 'placeholders filled');
  await page.click('#tpl-use');
  assert.equal(await page.inputValue('#act-note'), preview);
  await page.click('#act-save');

  // the next request of the same list opens
  await page.waitForFunction((id) => location.hash.endsWith(`/${id}`), first.id);
  await page.waitForFunction((n) => (document.getElementById('file-title')?.textContent || '').includes(n), first.number);

  // the citizen's app: pull shows it resolved with the note
  const pulled = await waitFor(async () => {
    const r = await api(srv.url, 'POST', '/api/mobile/sync/pull', { token: cit, body: { clientID: 'e2e-console-day', cursor: null, limit: 500 } });
    const c = (r.body.changes || []).find((x) => x.collection === 'requests' && x.id === second.id);
    return c?.data?.status === 'resolved' ? c.data : null;
  }, { what: 'the resolved request in the pull' });
  assert.equal(pulled.status_note, preview);
  // and a push reached the phone, in Italian, for this request
  const push = await waitFor(() => received.find((x) => x.path === path && JSON.parse(ece.decrypt(x.body, { version: 'aes128gcm', privateKey: ecdh, authSecret: auth }).toString()).status === 'resolved'), { what: 'the push' });
  const payload = JSON.parse(ece.decrypt(push.body, { version: 'aes128gcm', privateKey: ecdh, authSecret: auth }).toString());
  assert.equal(payload.request, second.number);
  assert.deepEqual(b.errors.filter((e) => !/status of 401/.test(e)), [], 'no page errors');
});

test('a clerk of another department sees nothing of it: not in the queue, not through realtime, not its photo', async () => {
  const other = await launch();
  try {
    const { page } = other;
    await signIn(page, srv, clerk('environment'));
    await page.click('#tab-open');
    await page.waitForSelector('#queue-rows', { state: 'attached' });
    // listen on the console's own realtime connection (same SDK client, same rules)
    await page.evaluate(async () => {
      const { pb } = await import('/staff/api.js');
      window.__seen = [];
      await pb.collection('requests').subscribe('*', (e) => window.__seen.push(e.record.id));
    });
    const secret = await withPhoto('roads only: a photo with a face');
    // a change of it by the roads clerk, then a marker change in the environment department:
    // once the marker arrives, anything about the secret request would have arrived before it
    const roads = await token(srv, 'staff', clerk('roads'));
    const ch = await api(srv.url, 'PATCH', `/api/collections/requests/records/${secret.id}`, { token: roads, body: { priority: 'urgent' } });
    assert.equal(ch.status, 200, JSON.stringify(ch.body));
    const envReq = (await api(srv.url, 'GET', '/api/staff/queue?tab=open&limit=1', { token: await token(srv, 'staff', clerk('environment')) })).body.items[0];
    const mk = await api(srv.url, 'PATCH', `/api/collections/requests/records/${envReq.id}`, { token: await token(srv, 'staff', SUPERVISOR), body: { priority: envReq.priority === 'high' ? 'low' : 'high' } });
    assert.equal(mk.status, 200, JSON.stringify(mk.body));
    await page.waitForFunction((id) => window.__seen.includes(id), envReq.id);
    assert.equal(await page.evaluate((id) => window.__seen.includes(id), secret.id), false, 'no realtime event');
    assert.equal(await page.$(`#queue-rows tr[data-id="${secret.id}"]`), null, 'not in the queue');
    // an exact search by its number finds nothing
    await page.fill('#q', secret.number);
    await page.click('#search button[type=submit]');
    await page.waitForFunction(() => /No requests/.test(document.getElementById('queue-status').textContent));
    // the photo: 404 with the other clerk's file token, 200 for the department's clerk
    const name = secret.photos[0];
    const status = await page.evaluate(async ({ id, n }) => {
      const { pb } = await import('/staff/api.js');
      const t = await pb.files.getToken();
      return (await fetch(`/api/files/requests/${id}/${n}?token=${t}`)).status;
    }, { id: secret.id, n: name });
    assert.equal(status, 404);
    const own = await b.page.evaluate(async ({ id, n }) => {
      const { pb } = await import('/staff/api.js');
      const t = await pb.files.getToken();
      return (await fetch(`/api/files/requests/${id}/${n}?token=${t}&thumb=320x240`)).status;
    }, { id: secret.id, n: name });
    assert.equal(own, 200);
    // and the file route says not found
    const file = await api(srv.url, 'GET', `/api/staff/requests/${secret.id}`, { token: await token(srv, 'staff', clerk('environment')) });
    assert.equal(file.status, 404);
  } finally {
    await other.close();
  }
});
