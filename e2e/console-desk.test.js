// The front desk against the real binary: a clerk files a request for a person
// at the counter (source=office, the service's form from its schema with the
// citizen app's validation messages), prints the receipt; then the receipt's QR
// code, fed to Chromium's fake camera as a Y4M video, is scanned, verified in
// the browser and opens that very request.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startServer, api } from './lib/server.js';
import { launch, launchWithCamera, y4mFromPNG, signIn, clerk, token } from './lib/console.js';

let srv;
let b;
let filed;
const dir = mkdtempSync(join(tmpdir(), 'civicdesk-desk-'));
before(async () => { srv = await startServer(); b = await launch(); await signIn(b.page, srv, clerk('roads')); });
after(async () => { await b?.close(); await srv?.stop(); rmSync(dir, { recursive: true, force: true }); });

test('file on behalf of a person: the same form and messages, source office, a receipt to print', async () => {
  const { page } = b;
  await page.click('nav a[href="#/desk"]');
  await page.click('a[href="#/desk/file"]');
  await page.waitForSelector('#desk-form');
  await page.selectOption('#desk-service', { label: 'Pothole' });
  await page.waitForSelector('#f-size');
  await page.click('#desk-submit');
  await page.waitForSelector('#desk-summary li');
  const summary = await page.textContent('#desk-summary');
  assert.match(summary, /Size: this is required\./, 'the citizen app\'s message, naming the field');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'desk-summary');
  await page.check('#f-size-1');
  await page.fill('#desk-description', 'Reported at the counter');
  await page.fill('#desk-address', 'Piazza De Ferrari 1');
  await page.fill('#desk-lat', '44,4073');
  await page.fill('#desk-lon', '8.9339');
  await page.fill('#desk-name', 'Giulia Bianchi');
  await page.fill('#desk-phone', '+39 010 555 0101');
  await page.click('#desk-submit');
  await page.waitForSelector('.print-sheet img.qr');
  await page.waitForFunction(() => document.querySelector('.print-sheet img.qr').naturalWidth > 0);
  const id = await page.evaluate(() => location.hash.split('/').pop());
  const f = await api(srv.url, 'GET', `/api/staff/requests/${id}`, { token: await token(srv, 'staff', clerk('roads')) });
  assert.equal(f.status, 200);
  assert.equal(f.body.request.source, 'office');
  assert.equal(f.body.contact.name, 'Giulia Bianchi');
  assert.equal(f.body.request.location.lat, 44.4073);
  assert.match(await page.textContent('.print-sheet h1'), new RegExp(f.body.request.number));
  filed = f.body;
});

test('scan the receipt QR with the camera: verified in the browser, the request opens', async () => {
  assert.ok(filed, 'needs the filed request');
  const rc = filed.receipts.find((x) => x.kind === 'received');
  const png = await fetch(`${srv.url}/api/mobile/receipts/${rc.id}/qr.png`, { headers: { authorization: await token(srv, 'staff', clerk('roads')) } });
  assert.equal(png.status, 200);
  const video = join(dir, 'qr.y4m');
  y4mFromPNG(Buffer.from(await png.arrayBuffer()), video);
  const cam = await launchWithCamera(video);
  try {
    const { page } = cam;
    await signIn(page, srv, clerk('roads'));
    await page.click('nav a[href="#/desk"]');
    await page.click('#scan-start');
    await page.waitForSelector('#scan-valid', { timeout: 30000 });
    assert.match(await page.textContent('#scan-valid'), new RegExp(`Valid receipt for request ${filed.request.number}`));
    assert.equal(await page.inputValue('#scan-code'), rc.code);
    await page.click('#scan-open');
    await page.waitForSelector('#actions');
    assert.match(await page.textContent('#file-title'), new RegExp(filed.request.number));
    // a tampered code is refused with the reason
    await page.click('nav a[href="#/desk"]');
    await page.fill('#scan-code', `${rc.code.slice(0, -6)}AAAAAA`);
    await page.click('#scan-verify');
    await page.waitForSelector('#scan-invalid');
    assert.deepEqual(cam.errors, []);
  } finally {
    await cam.close();
  }
});
