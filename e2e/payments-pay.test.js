// Payments in the browser: a citizen files a parking permit (a fee due on
// filing), sees the payment code, amount, IBAN and reference in the Pay view,
// still sees them offline after a reload; a superuser imports the bank
// statement that pays it (POST /api/payments/statements); the payment receipt
// appears in the wallet and verifies in /verify/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, binary, api } from './lib/server.js';
import { launch, signUp, serverReceipts, waitFor } from './lib/pwa.js';
import { injectAxe } from './lib/axe.js';

let srv;
let b;
before(async () => { srv = await startServer(); b = await launch(); });
after(async () => { await b?.close(); await srv?.stop(); });


async function axe(page) {
  await injectAxe(page);
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } });
    return r.violations.map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
  });
}

const IBAN = 'IT60X0542811101000000123456'; // the demo city's account (city profile "it")

function statement(ref, amount) {
  return `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
 <GrpHdr><MsgId>E2E-1</MsgId><CreDtTm>2026-12-01T18:00:00</CreDtTm></GrpHdr>
 <Stmt><Id>E2E-1</Id><Acct><Id><IBAN>${IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>
  <Ntry><Amt Ccy="EUR">${amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
   <BookgDt><Dt>2026-12-01</Dt></BookgDt><AcctSvcrRef>E2E-0001</AcctSvcrRef>
   <NtryDtls><TxDtls><RmtInf><Strd><CdtrRefInf><Ref>${ref}</Ref></CdtrRefInf></Strd></RmtInf></TxDtls></NtryDtls></Ntry>
 </Stmt></BkToCstmrStmt></Document>`;
}

test('pay a parking permit: QR offline, statement import, receipt in the wallet and in /verify/', async () => {
  const { page, context } = b;
  const email = await signUp(page, srv.url);
  await page.waitForFunction(() => navigator.serviceWorker && navigator.serviceWorker.controller, null, { timeout: 20000 });

  // file the permit
  await page.click('nav a[href="/new"]');
  await page.click('a.card[href="/new/parking_permit"]');
  await page.waitForSelector('#request-form');
  await page.fill('#f-plate', 'AB123CD');
  await page.check('input[name="f-zone"][value="A"]');
  await page.fill('#f-start_date', '2026-12-15T09:00');
  await page.click('#request-form button[type=submit]');
  await page.waitForURL(/\/requests\/[a-z0-9]{15}(\?sent=1)?$/); // the sent step (citizen app)
  const id = new URL(page.url()).pathname.split('/').pop();

  // the Pay view gets the fee and its payment code from sync
  await page.click('#pay-link');
  await page.waitForURL(new RegExp(`/requests/${id}/pay$`));
  await waitFor(async () => (await page.$('#fee-qr')) !== null, { timeout: 45000, what: 'the payment QR in the Pay view' });
  const ref = (await page.textContent('#pay-reference')).replace(/ /g, '');
  assert.match(ref, /^RF\d{2}\d{10}$/, 'an RF reference');
  assert.match(await page.textContent('#fee-amount'), /40[.,]00/);
  assert.equal(await page.textContent('#pay-iban'), 'IT60 X054 2811 1010 0000 0123 456');
  assert.equal(await page.textContent('#fee-state'), 'To pay');
  const alt = await page.getAttribute('#fee-qr', 'alt');
  assert.ok(alt.includes('Comune di Genova') && alt.includes(ref.slice(0, 4)), `QR text alternative: ${alt}`);

  // accessible in every language; the copy buttons name what they copy
  for (const l of ['it', 'sv', 'et', 'hu', 'en']) {
    await page.selectOption('#lang-select', l);
    await page.waitForFunction((x) => document.documentElement.lang === x && !document.getElementById('main').hasAttribute('aria-busy') && document.querySelector('#fee-qr'), l);
    assert.deepEqual(await axe(page), [], `axe on the Pay view [${l}]`);
  }
  assert.ok((await page.getAttribute('#copy-reference', 'aria-label')).includes('Reference'));

  // offline, after a reload: still there, from IndexedDB
  await context.setOffline(true);
  await page.reload();
  await page.waitForSelector('#fee-qr', { timeout: 20000 });
  assert.equal((await page.textContent('#pay-reference')).replace(/ /g, ''), ref);
  const shown = await page.$eval('#fee-qr', (img) => img.complete && img.naturalWidth > 0);
  assert.ok(shown, 'the cached QR image renders offline');
  await context.setOffline(false);

  // the city imports its statement (a superuser: staff sign in with a second factor)
  const suEmail = `root-${Date.now()}@e2e.civicdesk.example`;
  execFileSync(binary(), ['superuser', 'upsert', suEmail, 'correct-horse-battery-9', '--dir', srv.dataDir], { env: srv.env, stdio: 'pipe' });
  const auth = await api(srv.url, 'POST', '/api/collections/_superusers/auth-with-password', { body: { identity: suEmail, password: 'correct-horse-battery-9' } });
  assert.equal(auth.status, 200, JSON.stringify(auth.body));
  const res = await fetch(`${srv.url}/api/payments/statements`, {
    method: 'POST', headers: { authorization: auth.body.token, 'content-type': 'application/xml' }, body: statement(ref, '40.00'),
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.matched, 1, JSON.stringify(body));

  // the command imports the same file again: nothing changes
  const file = join(srv.dataDir, 'statement.xml');
  writeFileSync(file, statement(ref, '40.00'));
  const out = JSON.parse(execFileSync(binary(), ['payments', 'import', file, '--dir', srv.dataDir], { env: srv.env, stdio: 'pipe' }).toString());
  assert.equal(out.duplicate, true, JSON.stringify(out));
  assert.equal(out.statement, body.statement);

  // the app learns of it (realtime poke, or the next round) and shows the receipt
  await page.evaluate(() => window.dispatchEvent(new Event('online')));
  await waitFor(async () => /Paid/.test(await page.textContent('#fee-state').catch(() => '')), { timeout: 45000, what: 'fee state "Paid"' });
  await page.click('nav a[href="/receipts"]');
  await waitFor(async () => (await page.$$('img.qr')).length >= 2, { timeout: 30000, what: 'the payment receipt QR in the wallet' });
  assert.match(await page.textContent('main'), /Receipt of payment/);

  // and it verifies
  const receipts = await serverReceipts(srv.url, email);
  const payment = receipts.find((r) => r.kind === 'payment');
  assert.ok(payment, 'a payment receipt on the server');
  await page.goto(`${srv.url}/verify/?lang=en`);
  await page.fill('#code', payment.code);
  await page.click('#verify');
  await page.waitForSelector('#result[data-valid]');
  const result = await page.$eval('#result', (el) => ({ valid: el.dataset.valid, text: el.textContent }));
  assert.equal(result.valid, 'true', result.text);
  assert.match(result.text, /SEPA credit transfer/);
  assert.match(result.text, /Fee id/);
});
