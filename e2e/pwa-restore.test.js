// Citizen PWA after the server is restored from an older backup: the server has
// forgotten a mutation the app already saw acknowledged. Here the witness was
// copied along with the data dir, so only the phone can tell (the server's
// lastMutationID went back): the next push gets 409 mutation_gap, the app
// re-queues the acknowledged mutation it kept (grace window) and its queue
// after the server's lastMutationID, and the lost request comes back with the
// same id and number: app and server agree again, nothing lost.
// ops-restore.test.js is the same drill through PocketBase's restore API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, rmSync } from 'node:fs';
import { startServer } from './lib/server.js';
import { launch, signUp, filePothole, serverRequests, waitFor, syncText } from './lib/pwa.js';

let srv;
let b;
before(async () => { srv = await startServer(); b = await launch(); });
after(async () => { await b?.close(); await srv?.stop(); rmSync(`${srv?.dataDir}.backup`, { recursive: true, force: true }); });

const numbered = (page) => waitFor(async () => /^\d{4}-\d+$/.test((await page.textContent('#request-number')).trim()), { what: 'number' });

test('server restored from a backup: the lost request is re-pushed with its number, state converges', async () => {
  const { page, context } = b;
  const email = await signUp(page, srv.url);
  const a = await filePothole(page, { photos: 0, seed: 1, address: 'Before the backup' });
  await numbered(page);
  await waitFor(async () => /All sent/.test(await syncText(page)), { what: '"All sent"' });

  await srv.kill();
  cpSync(srv.dataDir, `${srv.dataDir}.backup`, { recursive: true });
  await srv.restart();
  const lost = await filePothole(page, { photos: 0, seed: 2, address: 'Lost in the restore' });
  await numbered(page);
  const lostNumber = (await page.textContent('#request-number')).trim();
  await waitFor(async () => /All sent/.test(await syncText(page)), { what: '"All sent"' });
  assert.equal((await serverRequests(srv.url, email)).length, 2);

  // the operator restores last night's backup
  await srv.kill();
  rmSync(srv.dataDir, { recursive: true, force: true });
  cpSync(`${srv.dataDir}.backup`, srv.dataDir, { recursive: true });
  await srv.restart();

  const gaps = [];
  page.on('response', (r) => { if (r.url().endsWith('/api/mobile/sync/push') && r.status() === 409) gaps.push(r.status()); });
  await context.setOffline(true); // queue the next request, then reconnect: one push with it
  const c = await filePothole(page, { photos: 0, seed: 3, address: 'After the restore' });
  await context.setOffline(false);
  await numbered(page);

  const reqs = await waitFor(async () => { const l = await serverRequests(srv.url, email); return l.length === 3 ? l : null; }, { what: 'three requests on the server' });
  assert.deepEqual(new Set(reqs.map((r) => r.id)), new Set([a, lost, c]));
  assert.equal(reqs.find((r) => r.id === lost).number, lostNumber, 'the re-pushed request keeps its number');
  assert.equal(new Set(reqs.map((r) => r.number)).size, 3, 'no number twice');
  assert.ok(gaps.length >= 1, 'the server answered 409 mutation_gap');
  await waitFor(async () => /All sent/.test(await syncText(page)), { what: '"All sent"' });
  await page.click('nav a[href="/requests"]');
  await waitFor(async () => {
    const hrefs = await page.$$eval('#request-list a.card', (els) => els.map((e) => e.getAttribute('href')).sort());
    return JSON.stringify(hrefs) === JSON.stringify([`/requests/${a}`, `/requests/${lost}`, `/requests/${c}`].sort());
  }, { what: 'the app lists exactly what the server has' });
});
