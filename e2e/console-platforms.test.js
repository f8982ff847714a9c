// Payment platforms in the staff console (issue 15), against the real binary
// and its local fakes (`civicdesk payments fake-platforms`, GOV.UK Pay in test
// mode): a citizen's card payment made on the fake pay page shows on the fee
// panel as a succeeded attempt under a "TEST MODE — GOV.UK Pay" badge; a
// supervisor refunds part of it through the platform by keyboard alone (after
// the server refused an empty note, shown under the note); a webhook for an
// unknown payment is parked and listed with its reason in the exceptions view.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { startServer, binary, freePort, api } from './lib/server.js';
import { waitFor } from './lib/pwa.js';
import { launch, signIn, axe, SUPERVISOR, CITIZEN, token, serviceId } from './lib/console.js';

const SECRET = 'e2e-govukpay-secret';
let srv;
let fakes;
let b;

before(async () => {
  const fport = await freePort();
  const fakeURL = `http://127.0.0.1:${fport}`;
  srv = await startServer({ env: {
    CIVICDESK_PAYMENTS: 'en', CIVICDESK_CARD_PLATFORM: 'govukpay',
    CIVICDESK_GOVUKPAY_URL: `${fakeURL}/govukpay`, CIVICDESK_GOVUKPAY_API_KEY: 'api_test_e2e',
    CIVICDESK_GOVUKPAY_WEBHOOK_SECRETS: SECRET,
  } });
  let out = '';
  fakes = spawn(binary(), ['payments', 'fake-platforms', '--http', `127.0.0.1:${fport}`, '--server', srv.url, '--dir', srv.dataDir],
    { env: srv.env, stdio: ['ignore', 'pipe', 'pipe'] });
  fakes.stdout.on('data', (d) => { out += d; });
  fakes.stderr.on('data', (d) => { out += d; });
  await waitFor(async () => { try { return (await fetch(`${fakeURL}/health`)).ok; } catch { return false; } }, { timeout: 30000, what: `the fakes (${out})` });
  b = await launch();
});
after(async () => {
  await b?.close();
  fakes?.kill('SIGTERM');
  await srv?.stop();
});

const focused = (page) => page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName);

/** tabTo presses Tab until the element with id has the focus (it must be reachable by keyboard). */
async function tabTo(page, id) {
  for (let i = 0; i < 120; i++) {
    if (await focused(page) === id) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`#${id} is not reachable with Tab`);
}

async function attemptsOf(feeId) {
  const tok = await token(srv, 'staff', SUPERVISOR);
  const r = await api(srv.url, 'GET', `/api/collections/payment_attempts/records?filter=${encodeURIComponent(`fee='${feeId}'`)}&sort=-created`, { token: tok });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.items;
}

test('a card payment through the fake GOV.UK Pay shows its succeeded attempt and the TEST MODE badge; a supervisor refunds part of it; a parked webhook is listed', async () => {
  const { page } = b;
  // the citizen files a permit and starts a card payment (the API the citizen app uses)
  const ctok = await token(srv, 'citizens', CITIZEN);
  const me = JSON.parse(Buffer.from(ctok.split('.')[1], 'base64url').toString()).id;
  const req = await api(srv.url, 'POST', '/api/collections/requests/records', {
    token: ctok,
    body: { citizen: me, service: await serviceId(srv, 'parking_permit'), answers: { plate: 'AB12CDE', zone: 'A', start_date: '2026-12-15T09:00:00Z' }, description: 'permit AB12CDE' },
  });
  assert.equal(req.status, 200, JSON.stringify(req.body));
  const stok = await token(srv, 'staff', SUPERVISOR);
  let fee;
  await waitFor(async () => {
    const r = await api(srv.url, 'GET', `/api/collections/fees/records?filter=${encodeURIComponent(`request='${req.body.id}'`)}`, { token: stok });
    fee = r.body.items?.[0];
    return !!fee;
  }, { what: 'the fee' });
  assert.equal(fee.currency, 'GBP');
  const start = await api(srv.url, 'POST', `/api/payments/fees/${fee.id}/attempts`, { token: ctok, body: { provider: 'govukpay' } });
  assert.equal(start.status, 200, JSON.stringify(start.body));

  // pay on the fake's page; the server learns it from the return and the webhook
  const pay = await b.context.newPage();
  await pay.goto(start.body.redirect);
  await pay.click('#pay');
  await pay.waitForURL(/\/payments\/return\/[a-f0-9]{48}$/, { timeout: 20000 });
  await pay.close();
  await waitFor(async () => (await attemptsOf(fee.id))[0]?.state === 'succeeded', { timeout: 45000, what: 'the attempt succeeded' });
  const [att] = await attemptsOf(fee.id);

  // a signed webhook for a payment civicdesk never started: stored, then parked with the reason
  const body = JSON.stringify({ id: 'e2e-unknown-1', event_type: 'CARD_PAYMENT_SUCCEEDED', resource_id: 'no-such-payment', resource_type: 'payment', resource: {} });
  const wh = await fetch(`${srv.url}/api/payments/webhooks/govukpay`, {
    method: 'POST', body, headers: { 'content-type': 'application/json', 'pay-signature': createHmac('sha256', SECRET).update(body).digest('hex') },
  });
  assert.ok(wh.ok, `webhook stored: ${wh.status}`);

  await signIn(page, srv, SUPERVISOR);
  await page.evaluate((x) => { location.hash = `#/queue/open/${x}`; }, req.body.id);
  await page.waitForSelector('#fee-state[data-state="paid"]', { timeout: 30000 });
  await page.waitForSelector(`#fee-attempts tr[data-id="${att.id}"][data-state="succeeded"]`);
  const row = await page.textContent(`#fee-attempts tr[data-id="${att.id}"]`);
  assert.match(row, /GOV\.UK Pay/);
  assert.match(row, /succeeded/);
  assert.ok(row.includes(att.provider_ref), `the platform reference in ${row}`);
  assert.equal(await page.textContent('#fee-panel .test-mode[data-provider="govukpay"]'), 'TEST MODE — GOV.UK Pay');
  assert.deepEqual(await axe(page), [], 'axe on the fee panel with attempts and the badge');

  // refund 1.00 through GOV.UK Pay by keyboard: an empty note first (the server names `note`)
  const base = `att-refund-${att.id}`;
  await tabTo(page, `${base}-toggle`);
  await page.keyboard.press('Enter');
  await tabTo(page, `${base}-amount`);
  await page.keyboard.type('1.00');
  await tabTo(page, `${base}-submit`);
  await page.keyboard.press('Enter');
  await page.waitForSelector(`#${base}-note-err`);
  assert.equal(await page.getAttribute(`#${base}-note`, 'aria-invalid'), 'true');
  assert.equal(await focused(page), `${base}-error`, 'the refusal takes the focus');
  assert.deepEqual(await axe(page), [], 'axe on the platform refund refusal');
  await tabTo(page, `${base}-note`);
  await page.keyboard.type('Permit cancelled in its first week');
  await tabTo(page, `${base}-submit`);
  await page.keyboard.press('Enter');
  await waitFor(async () => (await attemptsOf(fee.id))[0]?.refunded === 100, { timeout: 30000, what: 'the refund at the attempt' });
  await page.waitForSelector('#fee-ledger tbody tr[data-kind="refund"]');
  assert.match(await page.textContent(`#fee-attempts tr[data-id="${att.id}"]`), /£1\.00/);

  // the exceptions view: the badge, and the parked event with its reason
  await page.evaluate(() => { location.hash = '#/payments/exceptions'; });
  await page.waitForSelector('#exc-test-modes .test-mode[data-provider="govukpay"]');
  await waitFor(async () => {
    await page.evaluate(() => { location.hash = '#/payments/statements'; });
    await page.waitForSelector('#stmt-form');
    await page.evaluate(() => { location.hash = '#/payments/exceptions'; });
    await page.waitForSelector('#parked-status');
    return (await page.$('#parked-rows tr[data-provider="govukpay"]')) !== null;
  }, { timeout: 45000, interval: 1000, what: 'the parked event listed' });
  const parked = await page.textContent('#parked-rows tr[data-provider="govukpay"]');
  assert.match(parked, /e2e-unknown-1/);
  assert.match(parked, /unknown payment/i);
  assert.deepEqual(await axe(page), [], 'axe on the exceptions view with a parked event');

  assert.deepEqual(b.errors.filter((e) => !/status of 4\d\d/.test(e)), [], 'no page errors');
  b.csp.assertNone('platform views');
});
