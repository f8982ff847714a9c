// Citizen PWA against a crashing server: the server is SIGKILLed while a push
// is in flight (its answer may be lost after the commit) and again in the
// middle of a photo upload; after restarts the app converges: every request
// exactly once, every photo attached, nothing left waiting.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.js';
import { launch, signUp, filePothole, serverRequests, waitFor, syncText } from './lib/pwa.js';

let srv;
let b;
before(async () => { srv = await startServer(); b = await launch(); });
after(async () => { await b?.close(); await srv?.stop(); });

test('server killed mid-sync and restarted: converges without duplicates', async () => {
  const { page, context } = b;
  const email = await signUp(page, srv.url);
  await page.waitForFunction(() => navigator.serviceWorker.controller, null, { timeout: 20000 });

  // queue three requests offline so that one sync round carries them all
  await context.setOffline(true);
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push(await filePothole(page, { photos: 2, seed: 10 + i, address: `Via Crash ${i}` }));

  // kill #1: as soon as the push request leaves the browser (going online starts the round)
  const pushSeen = page.waitForRequest((r) => r.url().endsWith('/api/mobile/sync/push'), { timeout: 30000 });
  await context.setOffline(false);
  await pushSeen;
  await srv.kill();
  await new Promise((r) => setTimeout(r, 500));
  // kill #2: in the middle of the photo uploads
  const patchSeen = page.waitForRequest((r) => r.method() === 'PATCH' && r.url().includes('/api/mobile/uploads/'), { timeout: 60000 });
  await srv.restart();
  await patchSeen;
  await srv.kill();
  await new Promise((r) => setTimeout(r, 500));
  await srv.restart();

  const reqs = await waitFor(async () => {
    const list = await serverRequests(srv.url, email);
    return list.length === 3 && list.every((r) => r.photos.length === 2) ? list : null;
  }, { timeout: 120000, interval: 1000, what: 'three requests with two photos each' });
  assert.deepEqual(new Set(reqs.map((r) => r.id)), new Set(ids), 'the client-chosen ids, each exactly once');
  assert.equal(new Set(reqs.map((r) => r.number)).size, 3);
  await waitFor(async () => /All sent/.test(await syncText(page)), { timeout: 60000, what: 'indicator "All sent"' });
  await page.click('nav a[href="/requests"]');
  await page.waitForSelector('#request-list');
  const text = await page.textContent('#request-list');
  for (const r of reqs) assert.match(text, new RegExp(r.number));
  assert.doesNotMatch(text, /Waiting to send/);
});
