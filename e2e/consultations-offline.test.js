// Consultations in the citizen PWA (issue 16): with the network cut, answer
// the demo city's participatory budget one question per screen, review and
// Send; the ballot waits on the phone ("waiting to send") across a reload;
// on reconnect it is counted exactly once and the app shows "counted" with
// its receipt, which the server verifies and which holds no choice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, api } from './lib/server.js';
import { launch, signUp, waitFor, PASSWORD } from './lib/pwa.js';

/**
 * follow clicks the link to path until the app is there: a live view may be
 * redrawn by a sync round just as the click lands.
 */
async function follow(page, path) {
  await waitFor(async () => {
    if (new URL(page.url()).pathname !== path) await page.click(`a[href="${path}"]`, { timeout: 2000 }).catch(() => {});
    return new URL(page.url()).pathname === path;
  }, { what: `navigation to ${path}` });
}

let srv;
let b;
before(async () => { srv = await startServer(); b = await launch(); });
after(async () => { await b?.close(); await srv?.stop(); });

test('answer offline, reload, reconnect: counted once, with a receipt', async () => {
  const { page, context } = b;
  const email = await signUp(page, srv.url);
  await page.waitForFunction(() => navigator.serviceWorker && navigator.serviceWorker.controller, null, { timeout: 20000 });
  await page.click('nav a[href="/consultations"]');
  // the consultation's own link (the previous view's cards may still be on screen)
  await page.waitForSelector('main ul.cards a[href^="/consultations/"]');
  const href = await page.getAttribute('main ul.cards a[href^="/consultations/"]', 'href');
  const id = href.split('/')[2];
  await follow(page, href);
  await page.waitForSelector('.ballot-status', { state: 'attached' });
  assert.match(await page.textContent('main'), /advisory/, 'the advisory banner is shown');

  await context.setOffline(true);
  await follow(page, `/consultations/${id}/q/1`);
  await page.check('#q-priority-bikes');
  await page.click('form.question button[type=submit]');
  await page.check('#q-areas-centro');
  await page.check('#q-areas-ponente');
  await page.click('form.question button[type=submit]');
  // ranking with buttons: move the first option down once
  await page.waitForSelector('ol.ranking');
  await page.click('ol.ranking li:first-child button:nth-of-type(2)');
  assert.equal(await page.getAttribute('ol.ranking li:first-child', 'data-id'), 'bikes');
  await page.click('form.question button[type=submit]');
  await page.fill('textarea', 'More benches');
  await page.click('form.question button[type=submit]');
  await page.waitForSelector('dl.review');
  const review = await page.textContent('dl.review');
  assert.match(review, /Cycle lanes/);
  assert.match(review, /1\. Cycle lanes; 2\. New playground|1\. Cycle lanes; 2\. Playground/);
  await page.click('button.primary');
  await page.waitForSelector('.ballot-status[data-state=waiting]');

  await page.reload();
  await page.waitForSelector('.ballot-status[data-state=waiting]');
  const { record, token } = await (await fetch(`${srv.url}/api/collections/citizens/auth-with-password`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ identity: email, password: PASSWORD }),
  })).json();
  assert.ok(record.id);
  const before = await api(srv.url, 'GET', `/api/consultations/${id}/ballot`, { token });
  assert.equal(before.body.version, 0, 'nothing reached the server while offline');

  await context.setOffline(false);
  await page.evaluate(() => window.dispatchEvent(new Event('online')));
  await page.waitForSelector('.ballot-status[data-state=counted] .receipt-code', { timeout: 60000 });
  const code = (await page.textContent('.receipt-code')).trim();
  assert.match(code, /^CR1:/);

  // exactly once: another round adds no version
  await page.evaluate(() => window.dispatchEvent(new Event('online')));
  await new Promise((r) => setTimeout(r, 1500));
  const after = await api(srv.url, 'GET', `/api/consultations/${id}/ballot`, { token });
  assert.equal(after.body.version, 1);
  assert.equal(after.body.receipt.code, code);
  assert.doesNotMatch(JSON.stringify(after.body), /bikes|centro|Benches/i, 'the server tells the citizen no choice');

  const v = await api(srv.url, 'POST', '/api/receipts/verify', { body: { code } });
  assert.equal(v.body.valid, true);
  assert.equal(v.body.claims.kind, 'ballot');
  assert.equal(v.body.claims.ballotVersion, 1);
  assert.doesNotMatch(JSON.stringify(v.body), /bikes|centro|ponente|Benches/i, 'the receipt reveals no choice');

  // a second device changes the ballot: the first receipt now verifies as superseded in /verify/
  const second = await api(srv.url, 'POST', '/api/mobile/sync/push', {
    token,
    body: { clientID: 'e2e-second-device', mutations: [{ id: 1, name: 'ballot.cast', args: { consultationId: id, baseVersion: 1, answers: { priority: { options: ['park'] } } } }] },
  });
  assert.equal(second.body.results[0].status, 'applied', JSON.stringify(second.body));
  await page.goto(`${srv.url}/verify/#code=${encodeURIComponent(code)}`);
  await page.waitForSelector('#result[data-valid=true] .superseded', { timeout: 30000 });
  const shown = await page.textContent('#result');
  assert.match(shown, /BP-2027/);
  assert.match(shown, /does not show the answers/);
  assert.doesNotMatch(shown, /Cycle lanes|bikes|Benches/i);
  assert.deepEqual(b.errors.filter((e) => !/Failed to load resource|net::ERR_INTERNET_DISCONNECTED/.test(e)), []);
});
