// Citizen PWA, online: sign up in the app, file a pothole with a photo; the
// request gets its number and a receipt whose QR (the server's PNG) is shown;
// the server has the request with the photo attached.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import { startServer } from './lib/server.js';
import { launch, signUp, filePothole, serverRequests, serverReceipts, waitFor, syncText } from './lib/pwa.js';

let srv;
let b;
before(async () => { srv = await startServer(); b = await launch(); });
after(async () => { await b?.close(); await srv?.stop(); });

test('online: sign up, file with a photo, number and receipt QR shown, server has it', async () => {
  const { page } = b;
  const email = await signUp(page, srv.url);
  const id = await filePothole(page, { photos: 1 });

  // shown at once as waiting to send, then numbered by the server
  const number = await waitFor(async () => {
    const t = (await page.textContent('#request-number')).trim();
    return /^\d{4}-\d+$/.test(t) ? t : null;
  }, { what: 'request number in the app', timeout: 30000 });
  await waitFor(async () => /All sent/.test(await syncText(page)), { what: 'indicator "All sent"' });

  const reqs = await serverRequests(srv.url, email);
  assert.equal(reqs.length, 1, 'exactly one request on the server');
  assert.equal(reqs[0].id, id, 'the server uses the client-chosen id');
  assert.equal(reqs[0].number, number);
  assert.equal(reqs[0].status, 'received');
  assert.equal(reqs[0].address, 'Via Roma 1');
  assert.deepEqual(reqs[0].answers, { size: 'medium', depth_cm: 12 });
  await waitFor(async () => (await serverRequests(srv.url, email))[0].photos.length === 1, { what: 'photo attached on the server' });
  // the app shows the server's thumbnail (a protected file, fetched with a file token)
  await page.evaluate(() => window.dispatchEvent(new Event('online')));
  await waitFor(() => page.evaluate(() => {
    const img = document.querySelector('#request-photos img');
    return img && img.src.includes('/api/files/requests/') && img.complete && img.naturalWidth > 0;
  }), { what: 'server thumbnail loaded in the request view' });

  // the receipt: QR image from the server's PNG, decoded to the stored code
  const receipts = await serverReceipts(srv.url, email);
  assert.ok(receipts.length >= 1, 'a received receipt exists');
  await page.click('nav a[href="/receipts"]');
  const img = await page.waitForSelector('img.qr', { timeout: 30000 });
  const alt = await img.getAttribute('alt');
  assert.match(alt, new RegExp(number));
  // read the PNG through the image the page shows now: a live re-render (a sync round) may
  // replace the element and revoke the blob URL read a moment before
  let pngBytes = null;
  await waitFor(async () => {
    pngBytes = await page.evaluate(async () => {
      const el = document.querySelector('img.qr');
      if (!el) return null;
      try { return Array.from(new Uint8Array(await (await fetch(el.src)).arrayBuffer())); } catch { return null; }
    });
    return pngBytes !== null;
  }, { what: 'the receipt QR image read back' });
  const png = PNG.sync.read(Buffer.from(pngBytes));
  const qr = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  assert.ok(qr, 'QR decodes');
  assert.equal(qr.data, receipts[0].code);
  assert.match(await page.textContent('main'), new RegExp(number));
  assert.deepEqual(b.errors.filter((e) => !/Failed to load resource/.test(e)), []);
});
