// Payment platforms in the staff console (issue 15), against the real binary
// and its local fakes (`civicdesk payments fake-platforms`, GOV.UK Pay in test
// mode): a citizen's card payment made on the fake pay page shows on the fee
// panel as a succeeded attempt under a "TEST MODE — GOV.UK Pay" badge; a
// supervisor refunds part of it through the platform by keyboard alone (after
// the server refused an empty note, shown under the note); a webhook for an
// unknown payment is parked and listed with its reason in the exceptions view.
// A second card payment (paid at GOV.UK Pay, then the fee waived) is in the
// exceptions view explained in words and is refunded through GOV.UK Pay.
// The fakes send their webhooks to a closed port: the server learns each
// payment by asking GOV.UK Pay (the return, the worker), so the second payment
// cannot be booked before the fee is waived.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { startServer, binary, freePort, api } from './lib/server.js';
import { waitFor } from './lib/pwa.js';
import { launch, signIn, axe, SUPERVISOR, CITIZEN, token, serviceId, LANGS } from './lib/console.js';

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
  const nowhere = `http://127.0.0.1:${await freePort()}`;
  fakes = spawn(binary(), ['payments', 'fake-platforms', '--http', `127.0.0.1:${fport}`, '--server', nowhere, '--dir', srv.dataDir],
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

/** signedWebhook posts a GOV.UK Pay notification signed with the city's secret (it also wakes the server's worker). */
async function signedWebhook(ev) {
  const body = JSON.stringify(ev);
  const r = await fetch(`${srv.url}/api/payments/webhooks/govukpay`, {
    method: 'POST', body, headers: { 'content-type': 'application/json', 'pay-signature': createHmac('sha256', SECRET).update(body).digest('hex') },
  });
  assert.ok(r.ok, `webhook stored: ${r.status}`);
}

/** permitWithCardAttempt files a permit as the demo citizen and starts a GOV.UK Pay payment of its fee. */
async function permitWithCardAttempt(plate) {
  const ctok = await token(srv, 'citizens', CITIZEN);
  const me = JSON.parse(Buffer.from(ctok.split('.')[1], 'base64url').toString()).id;
  const req = await api(srv.url, 'POST', '/api/collections/requests/records', {
    token: ctok,
    body: { citizen: me, service: await serviceId(srv, 'parking_permit'), answers: { plate, zone: 'A', start_date: '2026-12-15T09:00:00Z' }, description: `permit ${plate}` },
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
  return { req: req.body, fee, redirect: start.body.redirect };
}

/** payAtFake pays on the fake's page; resolves with the return URL it sends the citizen to (not loaded). */
async function payAtFake(redirect) {
  const pay = await b.context.newPage();
  const seen = b.errors.length;
  try {
    let ret = '';
    await pay.route('**/payments/return/**', (route) => { ret = route.request().url(); return route.abort(); });
    await pay.goto(redirect);
    await pay.click('#pay');
    await waitFor(async () => ret !== '', { timeout: 20000, what: 'the return redirect' });
    assert.match(ret, /\/payments\/return\/[a-f0-9]{48}$/);
    return ret;
  } finally {
    await pay.close();
    // the aborted return is ours, not the console's
    const mine = b.errors.splice(seen).filter((e) => !/net::ERR_FAILED/.test(e));
    b.errors.push(...mine);
  }
}

/** everyLanguage switches the console through the five languages on the current view and checks no string key shows. */
async function everyLanguage(page, ready, check) {
  for (const lang of [...LANGS, 'en']) {
    await page.selectOption('#lang-select', lang);
    await page.waitForFunction((l) => document.documentElement.lang === l && !document.body.dataset.routing && !document.getElementById('main').hasAttribute('aria-busy'), lang);
    await page.waitForSelector(ready);
    const text = await page.textContent('#main');
    assert.doesNotMatch(text, /\b(fee|exc|attempt|platform|pay)\.[a-z]\w*/i, `a string key shows in ${lang}`);
    await check?.(lang);
  }
}

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
  const { req, fee, redirect } = await permitWithCardAttempt('AB12CDE');
  // paid on the fake's page; the return page asks the server, which asks GOV.UK Pay
  const ret = await payAtFake(redirect);
  const back = await api(srv.url, 'POST', `/api/payments/return/${ret.split('/').pop()}`);
  assert.equal(back.status, 200, JSON.stringify(back.body));
  assert.equal(back.body.state, 'succeeded');
  const [att] = await attemptsOf(fee.id);
  assert.equal(att.state, 'succeeded');

  // a signed webhook for a payment civicdesk never started: stored, then parked with the reason
  await signedWebhook({ id: 'e2e-unknown-1', event_type: 'CARD_PAYMENT_SUCCEEDED', resource_id: 'no-such-payment', resource_type: 'payment', resource: {} });

  await signIn(page, srv, SUPERVISOR);
  await page.evaluate((x) => { location.hash = `#/queue/open/${x}`; }, req.id);
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
  const badge = { it: 'MODALITÀ DI TEST — GOV.UK Pay', en: 'TEST MODE — GOV.UK Pay', sv: 'TESTLÄGE — GOV.UK Pay', et: 'TESTREŽIIM — GOV.UK Pay', hu: 'TESZT ÜZEMMÓD — GOV.UK Pay' };
  await everyLanguage(page, `#fee-attempts tr[data-id="${att.id}"]`, async (lang) => {
    assert.equal(await page.textContent('#fee-panel .test-mode[data-provider="govukpay"]'), badge[lang]);
  });

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
  await everyLanguage(page, '#parked-rows tr[data-provider="govukpay"]');

  assert.deepEqual(b.errors.filter((e) => !/status of 4\d\d/.test(e)), [], 'no page errors');
  b.csp.assertNone('platform views');
});

test('a second card payment (paid at GOV.UK Pay, then the fee waived) is explained in the exceptions view and refunded through GOV.UK Pay by keyboard', async () => {
  const { page } = b;
  const { fee, redirect } = await permitWithCardAttempt('CD34EFG');
  await payAtFake(redirect); // paid at GOV.UK Pay; the server does not know yet
  const [att] = await attemptsOf(fee.id);
  const stok = await token(srv, 'staff', SUPERVISOR);
  const w = await api(srv.url, 'POST', `/api/payments/fees/${fee.id}/waive`, { token: stok, body: { reason: 'Resident with a disability badge' } });
  assert.equal(w.status, 200, JSON.stringify(w.body));
  // the worker (woken by any delivery) cancels the waived fee's payment, asks GOV.UK Pay, finds it paid: a second payment
  let entry;
  await waitFor(async () => {
    await signedWebhook({ id: `e2e-wake-${Date.now()}`, event_type: 'CARD_PAYMENT_SUCCEEDED', resource_id: 'no-such-payment', resource_type: 'payment', resource: {} });
    const r = await api(srv.url, 'GET', `/api/collections/bank_entries/records?filter=${encodeURIComponent(`provider='govukpay' && fee='${fee.id}'`)}`, { token: stok });
    entry = r.body.items?.[0];
    return !!entry;
  }, { timeout: 60000, interval: 2000, what: 'the second payment in the exceptions' });
  assert.equal(entry.exception, 'duplicate', 'a waived fee paid again');
  assert.equal(entry.statement, '');

  await page.evaluate(() => { location.hash = '#/payments/statements'; });
  await page.waitForSelector('#stmt-form');
  await page.evaluate(() => { location.hash = '#/payments/exceptions'; });
  await page.waitForSelector(`#exc-rows tr[data-id="${entry.id}"]`);
  assert.match(await page.textContent(`#exc-rows tr[data-id="${entry.id}"] th`), /paid twice \(GOV\.UK Pay\)/);
  await tabTo(page, `exc-resolve-${entry.id}`);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#exc-form');
  assert.equal(await focused(page), 'exc-panel-title');
  assert.match(await page.textContent('#exc-about'), /paid or waived when the citizen paid it again through GOV\.UK Pay, so this money is not booked\. Refund it through GOV\.UK Pay/);
  assert.equal(await page.isChecked('#exc-action-platform'), true, 'the platform refund is offered first');
  assert.equal(await page.inputValue('#exc-amount'), (entry.amount / 100).toFixed(2));
  // no note: the server refuses, naming `note`
  await tabTo(page, 'exc-submit');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#exc-note-err');
  assert.equal(await page.getAttribute('#exc-note', 'aria-invalid'), 'true');
  assert.deepEqual(await axe(page), [], 'axe on the platform refund panel showing the refusal');
  await tabTo(page, 'exc-note');
  await page.keyboard.type('Paid by card after the fee was waived');
  await tabTo(page, 'exc-submit');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /done/.test(document.getElementById('exc-status')?.textContent || ''), null, { timeout: 30000 });
  const [after] = await attemptsOf(fee.id);
  assert.equal(after.id, att.id);
  assert.equal(after.refunded, entry.amount, 'refunded in full through GOV.UK Pay');
  const e2 = await api(srv.url, 'GET', `/api/collections/bank_entries/records/${entry.id}`, { token: stok });
  assert.equal(e2.body.resolution, 'refund');
  assert.deepEqual(b.errors.filter((e) => !/status of 4\d\d/.test(e)), [], 'no page errors');
});
