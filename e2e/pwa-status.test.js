// Citizen PWA and the clerk: a clerk changes the request's status with the
// records API; the open app shows the new status and the clerk's note after
// the realtime poke (well before its 60 s pull timer), readable offline after.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, login, api } from './lib/server.js';
import { launch, signUp, filePothole, waitFor } from './lib/pwa.js';

let srv;
let b;
before(async () => { srv = await startServer(); b = await launch(); });
after(async () => { await b?.close(); await srv?.stop(); });

test('a clerk changes the status: the app shows it after the poke', async () => {
  const { page, context } = b;
  await signUp(page, srv.url);
  const id = await filePothole(page, { photos: 0 });
  await waitFor(async () => /^\d{4}-\d+$/.test((await page.textContent('#request-number')).trim()), { what: 'number' });
  assert.match(await page.textContent('#request-status'), /Received/);

  const clerk = await login(srv.url, 'staff', 'clerk.roads@demo.civicdesk.example');
  const note = 'A crew is scheduled for Thursday.';
  const started = Date.now();
  const r = await api(srv.url, 'PATCH', `/api/collections/requests/records/${id}`, { token: clerk.token, body: { status: 'in_progress', status_note: note } });
  assert.equal(r.status, 200, JSON.stringify(r.body));

  await waitFor(async () => /In progress/.test(await page.textContent('#request-status')), { timeout: 20000, what: 'status "In progress" in the app' });
  const took = Date.now() - started;
  assert.ok(took < 20000, `shown after ${took} ms: the poke, not the 60 s timer`);
  const main = await page.textContent('main');
  assert.match(main, /Status: In progress/);
  assert.match(main, new RegExp(note));
  // cancel is offered only while the request is "received"
  assert.equal(await page.$('#cancel-request'), null);

  // readable offline: reload without network
  await context.setOffline(true);
  await page.reload();
  await page.waitForSelector('#request-status');
  assert.match(await page.textContent('#request-status'), /In progress/);
  await context.setOffline(false);
});

test('cancel while received and comment go through the outbox', async () => {
  const { page } = b;
  const id = await filePothole(page, { photos: 0, seed: 3 });
  await waitFor(async () => /^\d{4}-\d+$/.test((await page.textContent('#request-number')).trim()), { what: 'number' });
  await page.fill('#comment', 'The hole is getting bigger.');
  await page.click('#comment-form button[type=submit]');
  await waitFor(async () => /The hole is getting bigger\./.test(await page.textContent('ol.timeline')), { what: 'comment in the timeline' });
  page.once('dialog', (d) => d.accept());
  await page.click('#cancel-request');
  await waitFor(async () => /Cancelled/.test(await page.textContent('#request-status')), { timeout: 20000, what: 'status "Cancelled"' });
  const citizenEmail = await page.evaluate(() => JSON.parse(localStorage.getItem('civicdesk.auth')).record.email);
  const { token } = await login(srv.url, 'citizens', citizenEmail, 'correct-horse-battery-9');
  const ev = await api(srv.url, 'GET', `/api/collections/request_events/records?filter=${encodeURIComponent(`request="${id}"`)}&skipTotal=1`, { token });
  assert.ok(ev.body.items.some((e) => e.type === 'comment' && e.message === 'The hole is getting bigger.'), 'comment on the server');
  const req = await api(srv.url, 'GET', `/api/collections/requests/records/${id}`, { token });
  assert.equal(req.body.status, 'cancelled');
});
