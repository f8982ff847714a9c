// Two citizens on one device: A queues a request offline and signs out; B signs
// up, sees none of A's data, and files; when A signs in again A's queued request
// is sent as A's. Each citizen has a database (and clientID) of their own.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.js';
import { launch, signUp, signIn, filePothole, serverRequests, waitFor, syncText } from './lib/pwa.js';

let srv;
let b;
before(async () => { srv = await startServer(); b = await launch(); });
after(async () => { await b?.close(); await srv?.stop(); });

test('a queued request survives another citizen using the device', async () => {
  const { page, context } = b;
  const emailA = await signUp(page, srv.url);
  await page.waitForFunction(() => navigator.serviceWorker.controller, null, { timeout: 20000 });
  await context.setOffline(true);
  const a = await filePothole(page, { photos: 1, seed: 50, address: 'A street' });
  await page.click('nav a[href="/settings"]');
  page.once('dialog', (d) => { assert.match(d.message(), /1 request has not been sent yet/); d.accept(); });
  await page.click('#sign-out');
  await page.waitForURL(/\/signin/);
  await context.setOffline(false);

  const emailB = await signUp(page, srv.url);
  await page.click('nav a[href="/requests"]');
  await page.waitForSelector('main h1');
  assert.equal(await page.$(`a.card[href="/requests/${a}"]`), null, "B does not see A's request");
  const bReq = await filePothole(page, { photos: 0, seed: 51, address: 'B street' });
  await waitFor(async () => /All sent/.test(await syncText(page)), { what: 'B all sent' });
  assert.deepEqual((await serverRequests(srv.url, emailB)).map((r) => r.id), [bReq]);
  assert.deepEqual(await serverRequests(srv.url, emailA), [], "A's request waits for A");

  await page.click('nav a[href="/settings"]');
  await page.click('#sign-out');
  await page.waitForURL(/\/signin/);
  await signIn(page, emailA);
  const reqs = await waitFor(async () => { const l = await serverRequests(srv.url, emailA); return l.length === 1 && l[0].photos.length === 1 ? l : null; }, { what: "A's request with its photo" });
  assert.equal(reqs[0].id, a);
  assert.equal((await serverRequests(srv.url, emailB)).length, 1);
});
