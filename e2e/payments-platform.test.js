// Card payment through a platform (issue 15), end to end with the real
// binary and its local fakes (`civicdesk payments fake-platforms`): a
// Birmingham citizen (profile en, GOV.UK Pay) files a parking permit, taps
// "Pay by card", pays on the fake GOV.UK Pay page, comes back to the return
// page, which says "we are confirming your payment" until the server knows
// (it asks GOV.UK Pay; the fake's signed webhook arrives too), then shows the
// payment received; the payment receipt is in the wallet and verifies; the
// return page and the Pay view still read offline.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startServer, binary, freePort } from './lib/server.js';
import { launch, signUp, serverReceipts, waitFor } from './lib/pwa.js';
import { injectAxe } from './lib/axe.js';

let srv;
let b;
const procs = [];
const servers = [];

// startWithFakes starts the demo server with env and the fakes beside it.
async function startWithFakes(env) {
  const fport = await freePort();
  const fakeURL = `http://127.0.0.1:${fport}`;
  const s = await startServer({ env: { ...env(fakeURL) } });
  servers.push(s);
  let out = '';
  const p = spawn(binary(), ['payments', 'fake-platforms', '--http', `127.0.0.1:${fport}`, '--server', s.url, '--dir', s.dataDir],
    { env: s.env, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(p);
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { out += d; });
  await waitFor(async () => { try { return (await fetch(`${fakeURL}/health`)).ok; } catch { return false; } }, { timeout: 30000, what: `the fakes (${out})` });
  return s;
}

before(async () => {
  srv = await startWithFakes((fakeURL) => ({
    CIVICDESK_PAYMENTS: 'en', CIVICDESK_CARD_PLATFORM: 'govukpay',
    CIVICDESK_GOVUKPAY_URL: `${fakeURL}/govukpay`, CIVICDESK_GOVUKPAY_API_KEY: 'api_test_e2e',
    CIVICDESK_GOVUKPAY_WEBHOOK_SECRETS: 'e2e-govukpay-secret',
  }));
  b = await launch();
});
after(async () => {
  await b?.close();
  for (const p of procs) p.kill('SIGTERM');
  for (const s of servers) await s.stop();
});

async function axe(page) {
  await injectAxe(page);
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } });
    return r.violations.map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
  });
}

test('pay a fee by card through the fake GOV.UK Pay page, ending with a verified payment receipt', async () => {
  const { page, context } = b;
  const email = await signUp(page, srv.url);
  await page.waitForFunction(() => navigator.serviceWorker && navigator.serviceWorker.controller, null, { timeout: 20000 });

  await page.click('nav a[href="/new"]');
  await page.click('a.card[href="/new/parking_permit"]');
  await page.waitForSelector('#request-form');
  await page.fill('#f-plate', 'AB12CDE');
  await page.check('input[name="f-zone"][value="A"]');
  await page.fill('#f-start_date', '2026-12-15T09:00');
  await page.click('#request-form button[type=submit]');
  await page.waitForURL(/\/requests\/[a-z0-9]{15}(\?sent=1)?$/);
  const id = new URL(page.url()).pathname.split('/').pop();

  await page.click('#pay-link');
  await page.waitForURL(new RegExp(`/requests/${id}/pay$`));
  await waitFor(async () => (await page.$('#pay-card')) !== null, { timeout: 45000, what: 'the pay-by-card button' });
  assert.match(await page.textContent('#pay-card'), /by card \(GOV\.UK Pay\)/);
  assert.ok(await page.$('#card-test'), 'test mode is said');
  assert.deepEqual(await axe(page), [], 'axe on the Pay view with the card button');

  // the platform's page (the fake), then back with only a token in the URL
  await page.click('#pay-card');
  await page.waitForURL(/\/govukpay\/pay\//, { timeout: 20000 });
  await page.click('#pay');
  await page.waitForURL(/\/payments\/return\/[a-f0-9]{48}$/, { timeout: 20000 });
  const returnURL = page.url();
  assert.ok(!/payment_id|status|success/.test(returnURL), `the return URL carries only the token: ${returnURL}`);
  await page.waitForSelector('#return-state[data-state="succeeded"]', { timeout: 45000 });
  assert.match(await page.textContent('#return-state'), /Payment received/);
  assert.deepEqual(await axe(page), [], 'axe on the return page');

  // the fee is paid and the receipt arrives by sync
  await page.goto(`${srv.url}/requests/${id}/pay`);
  await waitFor(async () => /Paid/.test(await page.textContent('#fee-state').catch(() => '')), { timeout: 45000, what: 'fee state "Paid"' });
  await page.click('nav a[href="/receipts"]');
  await waitFor(async () => (await page.$$('img.qr')).length >= 2, { timeout: 30000, what: 'the payment receipt QR in the wallet' });

  // offline afterwards: the return page and the Pay view still read
  await context.setOffline(true);
  await page.goto(returnURL).catch(() => {});
  await page.waitForSelector('#return-state[data-state="succeeded"]', { timeout: 20000 });
  await page.goto(`${srv.url}/requests/${id}/pay`).catch(() => {});
  await waitFor(async () => /Paid/.test(await page.textContent('#fee-state').catch(() => '')), { timeout: 20000, what: 'Paid offline' });
  await context.setOffline(false);

  // the payment receipt verifies, paid by card
  const receipts = await serverReceipts(srv.url, email);
  const payment = receipts.find((r) => r.kind === 'payment');
  assert.ok(payment, 'a payment receipt on the server');
  await page.goto(`${srv.url}/verify/?lang=en`);
  await page.fill('#code', payment.code);
  await page.click('#verify');
  await page.waitForSelector('#result[data-valid]');
  const result = await page.$eval('#result', (el) => ({ valid: el.dataset.valid, text: el.textContent }));
  assert.equal(result.valid, 'true', result.text);
  assert.match(result.text, /card/i);
});

test('pagoPA (Genoa): the notice and its QR in the Pay view, offline too; paid at the fake PSP', async () => {
  const it = await startWithFakes((fakeURL) => ({
    CIVICDESK_PAYMENTS: 'it', CIVICDESK_PAYMENT_RAIL: 'pagopa', CIVICDESK_PAYMENT_SCHEME: 'iuv',
    CIVICDESK_PAGOPA_GPD_URL: `${fakeURL}/pagopa`, CIVICDESK_PAGOPA_API_KEY: 'e2e-gpd-key',
    CIVICDESK_PAGOPA_RECEIPT_TOKEN: 'e2e-receipt-token', CIVICDESK_PAGOPA_CHECKOUT_URL: `${fakeURL}/pagopa/pay/{notice}`,
  }));
  const bb = await launch({ locale: 'it-IT' });
  try {
    const { page, context } = bb;
    await signUp(page, it.url);
    await page.waitForFunction(() => navigator.serviceWorker && navigator.serviceWorker.controller, null, { timeout: 20000 });
    await page.click('nav a[href="/new"]');
    await page.click('a.card[href="/new/parking_permit"]');
    await page.waitForSelector('#request-form');
    await page.fill('#f-plate', 'GE123AB');
    await page.check('input[name="f-zone"][value="A"]');
    await page.fill('#f-start_date', '2026-12-15T09:00');
    await page.click('#request-form button[type=submit]');
    await page.waitForURL(/\/requests\/[a-z0-9]{15}(\?sent=1)?$/);
    const id = new URL(page.url()).pathname.split('/').pop();
    await page.click('#pay-link');
    await waitFor(async () => (await page.$('#fee-qr')) !== null && (await page.$('#pay-notice')) !== null, { timeout: 45000, what: 'the pagoPA notice and QR' });
    const notice = (await page.textContent('#pay-notice')).replace(/ /g, '');
    assert.match(notice, /^3\d{17}$/, 'an 18-digit notice number');
    assert.ok(await page.$('#pagopa-online'), 'the pay-online link');
    assert.deepEqual(await axe(page), [], 'axe on the pagoPA Pay view');

    await context.setOffline(true);
    await page.reload();
    await page.waitForSelector('#fee-qr', { timeout: 20000 });
    assert.equal((await page.textContent('#pay-notice')).replace(/ /g, ''), notice);
    assert.ok(await page.$eval('#fee-qr', (img) => img.complete && img.naturalWidth > 0), 'the notice QR renders offline');
    await context.setOffline(false);

    // pay at the fake PSP; its receipt reaches the server, which books it
    await page.click('#pagopa-online');
    await page.waitForURL(/\/pagopa\/pay\//);
    await page.click('#paga');
    await page.waitForSelector('#summary');
    await page.goto(`${it.url}/requests/${id}/pay`);
    await waitFor(async () => /Pagat/.test(await page.textContent('#fee-state').catch(() => '')), { timeout: 45000, what: 'fee state paid' });
  } finally {
    await bb.close();
  }
});
