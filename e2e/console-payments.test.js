// Payments in the staff console, against the real binary: a supervisor signs in
// (one-time code from the server's stderr), opens a request with a fee and sees
// it due, imports a camt.053 statement that pays it in the Statements view
// (progress, then the result), sees the fee paid with its ledger line and its
// payment receipt on the file (the receipt verifies in /verify/), resolves a
// statement exception by keyboard alone, matching it to another request's fee
// (after the server refused a refund without a note, naming the field on
// screen), and waives a third fee by keyboard alone (after the server refused an
// empty reason).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, api } from './lib/server.js';
import { launch, signIn, axe, SUPERVISOR, CITIZEN, token, serviceId } from './lib/console.js';

let srv;
let b;
before(async () => { srv = await startServer(); b = await launch(); });
after(async () => { await b?.close(); await srv?.stop(); });

const IBAN = 'IT60X0542811101000000123456'; // the demo city's account (payments profile "it")

/** statement builds a one-line camt.053.001.02 credit; remittance is structured (ref) or free text. */
function statement(id, { ref, text, amount }) {
  const rmt = ref ? `<Strd><CdtrRefInf><Ref>${ref}</Ref></CdtrRefInf></Strd>` : `<Ustrd>${text}</Ustrd>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
 <GrpHdr><MsgId>${id}</MsgId><CreDtTm>2026-12-01T18:00:00</CreDtTm></GrpHdr>
 <Stmt><Id>${id}</Id><Acct><Id><IBAN>${IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>
  <Ntry><Amt Ccy="EUR">${amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
   <BookgDt><Dt>2026-12-01</Dt></BookgDt><AcctSvcrRef>${id}-0001</AcctSvcrRef>
   <NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Maria Rossi</Nm></Dbtr></RltdPties><RmtInf>${rmt}</RmtInf></TxDtls></NtryDtls></Ntry>
 </Stmt></BkToCstmrStmt></Document>`;
}

async function filePermit(plate) {
  const tok = await token(srv, 'citizens', CITIZEN);
  const me = JSON.parse(Buffer.from(tok.split('.')[1], 'base64url').toString()).id;
  const r = await api(srv.url, 'POST', '/api/collections/requests/records', {
    token: tok,
    body: { citizen: me, service: await serviceId(srv, 'parking_permit'), answers: { plate, zone: 'A', start_date: '2026-12-15T09:00:00Z' }, description: `permit ${plate}` },
  });
  assert.equal(r.status, 200, `file permit: ${JSON.stringify(r.body)}`);
  return r.body;
}

async function feeOf(requestId) {
  const tok = await token(srv, 'staff', SUPERVISOR);
  const r = await api(srv.url, 'GET', `/api/collections/fees/records?filter=${encodeURIComponent(`request='${requestId}'`)}`, { token: tok });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.items[0];
}

async function importInView(page, name, xml) {
  await page.evaluate(() => { location.hash = '#/payments/statements'; });
  await page.waitForSelector('#stmt-form');
  await page.setInputFiles('#stmt-file', { name, mimeType: 'application/xml', buffer: Buffer.from(xml) });
  await page.click('#stmt-submit');
  await page.waitForSelector('#stmt-result:not([hidden])', { timeout: 60000 });
  const counts = {};
  for (const k of ['lines', 'matched', 'exceptions']) counts[k] = Number(await page.textContent(`#stmt-${k}`));
  return counts;
}

const focused = (page) => page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName);

/** tabTo presses Tab until the element with id has the focus (it must be reachable by keyboard). */
async function tabTo(page, id) {
  for (let i = 0; i < 80; i++) {
    if (await focused(page) === id) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`#${id} is not reachable with Tab`);
}

async function openFile(page, id) {
  await page.evaluate((x) => { location.hash = `#/queue/open/${x}`; }, id);
  await page.waitForSelector('#fee-state');
}

test('a supervisor imports a statement that pays a fee, sees it paid and receipted, resolves an exception and waives a fee', async () => {
  const { page } = b;
  const paid = await filePermit('AB123CD');
  const other = await filePermit('EF456GH');
  const third = await filePermit('JK789LM');
  const fee = await feeOf(paid.id);
  assert.equal(fee.state, 'due');

  await signIn(page, srv, SUPERVISOR);

  // the file shows the fee due, with its reference and no receipt yet
  await openFile(page, paid.id);
  assert.equal(await page.getAttribute('#fee-state', 'data-state'), 'due');
  assert.equal((await page.textContent('#fee-reference')).replace(/\s/g, ''), fee.reference);
  assert.match(await page.textContent('#fee-amount'), /40[.,]00/);
  assert.ok(await page.$('#fee-ledger-empty'), 'nothing booked yet');

  // Statements: the import shows its progress, then the result; the list has the file
  const res = await importInView(page, 'stmt-1.xml', statement('E2E-STMT-1', { ref: fee.reference, amount: '40.00' }));
  assert.deepEqual(res, { lines: 1, matched: 1, exceptions: 0 });
  await page.waitForSelector('#stmt-rows tr th:text("stmt-1.xml")');
  // the same file again changes nothing
  await page.setInputFiles('#stmt-file', { name: 'stmt-1.xml', mimeType: 'application/xml', buffer: Buffer.from(statement('E2E-STMT-1', { ref: fee.reference, amount: '40.00' })) });
  await page.click('#stmt-submit');
  await page.waitForSelector('#stmt-duplicate');

  // the file: paid, one ledger credit, the payment receipt linking to /verify/
  await openFile(page, paid.id);
  await page.waitForFunction(() => document.querySelector('#fee-state')?.dataset.state === 'paid');
  assert.equal(await page.$$eval('#fee-ledger tbody tr[data-kind="credit"]', (r) => r.length), 1);
  const href = await page.getAttribute('#fee-receipts a.verify-link', 'href');
  assert.match(href, /^\/verify\/#code=/);
  const verify = await b.context.newPage();
  await verify.goto(`${srv.url}${href.replace('#', '?lang=en#')}`);
  await verify.waitForSelector('#result[data-valid]');
  assert.equal(await verify.$eval('#result', (el) => el.dataset.valid), 'true', await verify.textContent('#result'));
  await verify.close();

  // an exception: money for the second permit without its reference
  const exc = await importInView(page, 'stmt-2.xml', statement('E2E-STMT-2', { text: 'parking permit EF456GH', amount: '40.00' }));
  assert.deepEqual(exc, { lines: 1, matched: 0, exceptions: 1 });
  // resolved by keyboard alone, from the import's result
  await tabTo(page, 'stmt-to-exceptions');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#exc-rows tr[data-exception="unknown_reference"] button.exc-resolve');
  const entry = await page.getAttribute('#exc-rows tr[data-exception="unknown_reference"]', 'data-id');
  await tabTo(page, `exc-resolve-${entry}`);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#exc-form');
  assert.equal(await focused(page), 'exc-panel-title');
  // a refund without a note: the server's 400 names `note`, shown at the field
  await tabTo(page, 'exc-action-match');
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.isChecked('#exc-action-refund'), true);
  await tabTo(page, 'exc-submit');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#exc-note-err');
  assert.equal(await page.getAttribute('#exc-note', 'aria-invalid'), 'true');
  assert.match(await page.textContent('#exc-error'), /Note/);
  assert.deepEqual(await axe(page), [], 'axe on the resolve panel showing the refusal');
  // match it to the second permit's fee, found by its request number
  await tabTo(page, 'exc-action-refund');
  await page.keyboard.press('ArrowUp');
  assert.equal(await page.isChecked('#exc-action-match'), true);
  await tabTo(page, 'exc-find');
  await page.keyboard.type(other.number);
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.waitForSelector('input[name="exc-fee"]');
  await tabTo(page, 'exc-submit');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /done/.test(document.getElementById('exc-status')?.textContent || ''));
  assert.equal((await feeOf(other.id)).state, 'paid');
  await page.selectOption('#exc-show', 'resolved');
  await page.waitForSelector('#exc-rows tr[data-exception="unknown_reference"]');
  assert.match(await page.textContent('#exc-rows'), /matched to a fee/);

  // waive the third fee by keyboard alone: an empty reason is refused (naming `reason`), then a reason works
  await openFile(page, third.id);
  await tabTo(page, 'waive-toggle');
  await page.keyboard.press('Enter');
  await tabTo(page, 'waive-submit');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#waive-reason-err');
  assert.match(await page.textContent('#waive-error'), /Reason for the waiver/);
  assert.equal(await focused(page), 'waive-error', 'the refusal takes the focus');
  assert.deepEqual(await axe(page), [], 'axe on the fee panel showing the refusal');
  await page.keyboard.press('Tab'); // the summary's link to the field
  await page.keyboard.press('Enter');
  assert.equal(await focused(page), 'waive-reason');
  await page.keyboard.type('Resident with a disability badge');
  await tabTo(page, 'waive-submit');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#fee-state')?.dataset.state === 'waived');
  assert.equal((await feeOf(third.id)).state, 'waived');
  assert.equal(await focused(page), 'file-msg', 'the result is where the focus is');

  assert.deepEqual(b.errors.filter((e) => !/status of 4\d\d/.test(e)), [], 'no page errors');
  b.csp.assertNone('payments views');
});
