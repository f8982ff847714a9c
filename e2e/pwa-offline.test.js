// Citizen PWA, offline: with the network cut, file two requests with photos,
// reload the page (the service worker serves the shell; IndexedDB keeps both),
// then reconnect: both reach the server exactly once with their photos, and
// their receipts appear in the wallet.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.js';
import { launch, signUp, filePothole, serverRequests, waitFor, syncText } from './lib/pwa.js';

let srv;
let b;
before(async () => { srv = await startServer(); b = await launch(); });
after(async () => { await b?.close(); await srv?.stop(); });

test('offline: two requests with photos survive a reload and are sent exactly once', async () => {
  const { page, context } = b;
  // every text the sync indicator shows, across reloads
  await context.addInitScript(() => {
    const seen = JSON.parse(sessionStorage.getItem('syncTexts') || '[]');
    const rec = (t) => { if (t && seen[seen.length - 1] !== t) { seen.push(t); sessionStorage.setItem('syncTexts', JSON.stringify(seen)); } };
    addEventListener('DOMContentLoaded', () => {
      const el = document.getElementById('sync-status');
      new MutationObserver(() => rec(el.textContent)).observe(el, { childList: true, characterData: true, subtree: true });
    });
  });
  const email = await signUp(page, srv.url);
  // the service worker controls the page before we go offline
  await page.waitForFunction(() => navigator.serviceWorker && navigator.serviceWorker.controller, null, { timeout: 20000 });

  await context.setOffline(true);
  const a = await filePothole(page, { photos: 2, address: 'Via Roma 1', seed: 1 });
  const c = await filePothole(page, { photos: 1, address: 'Piazza De Ferrari', seed: 5 });
  assert.notEqual(a, c);
  await waitFor(async () => /2 requests waiting to send/.test(await syncText(page)), { what: 'indicator "2 requests waiting to send"' });

  await page.reload();
  await page.waitForSelector('h1');
  await page.click('nav a[href="/requests"]');
  await page.waitForSelector('#request-list');
  const cards = await page.$$eval('#request-list a.card', (els) => els.map((e) => e.getAttribute('href')));
  assert.deepEqual(new Set(cards), new Set([`/requests/${a}`, `/requests/${c}`]), 'both requests are still there after an offline reload');
  assert.match(await page.textContent('#request-list'), /Waiting to send/);
  assert.equal((await serverRequests(srv.url, email)).length, 0, 'nothing reached the server while offline');

  await context.setOffline(false);
  const reqs = await waitFor(async () => {
    const list = await serverRequests(srv.url, email);
    return list.length === 2 && list.every((r) => r.photos.length === (r.id === a ? 2 : 1)) ? list : null;
  }, { timeout: 60000, what: 'both requests with their photos on the server' });
  assert.deepEqual(new Set(reqs.map((r) => r.id)), new Set([a, c]));
  await waitFor(async () => /All sent/.test(await syncText(page)), { what: 'indicator "All sent"' });

  // sent exactly once: a further sync round adds nothing
  await page.evaluate(() => window.dispatchEvent(new Event('online')));
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await serverRequests(srv.url, email)).length, 2, 'no duplicates after another round');

  const shown = await page.evaluate(() => JSON.parse(sessionStorage.getItem('syncTexts')));
  assert.ok(shown.some((t) => /^2 requests waiting to send\./.test(t)), `indicator texts: ${JSON.stringify(shown)}`);
  for (let i = 1; i <= 3; i++) assert.ok(shown.some((t) => t === `Sending photo ${i} of 3.`), `"Sending photo ${i} of 3" in ${JSON.stringify(shown)}`);
  assert.equal(shown[shown.length - 1], 'All sent.');

  await page.click('nav a[href="/receipts"]');
  await waitFor(async () => (await page.$$('img.qr')).length >= 2, { timeout: 30000, what: 'two receipt QR codes in the wallet' });
});
