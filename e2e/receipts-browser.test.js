// The /verify/ page in Chromium: load it online, cut the network, reload (the
// service worker serves the page, the cached JWKS the keys), then verify a
// valid code, a tampered code and a QR image; switch languages; run axe.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { PNG } from 'pngjs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { startServer, login, api, repoRoot, binary } from './lib/server.js';
import { injectAxe } from './lib/axe.js';

const require = createRequire(import.meta.url);
const B45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
const b45decode = (s) => {
  const out = [];
  for (let i = 0; i < s.length; i += 3) {
    const n = [...s.slice(i, i + 3)].reduce((acc, c, j) => acc + B45.indexOf(c) * 45 ** j, 0);
    if (s.length - i >= 3) out.push(n >> 8, n & 0xff); else out.push(n);
  }
  return out;
};
const b45encode = (b) => {
  let s = '';
  for (let i = 0; i + 1 < b.length; i += 2) { const n = b[i] * 256 + b[i + 1]; s += B45[n % 45] + B45[Math.floor(n / 45) % 45] + B45[Math.floor(n / 2025)]; }
  if (b.length % 2) { const n = b[b.length - 1]; s += B45[n % 45] + B45[Math.floor(n / 45)]; }
  return s;
};
/** tamper flips one bit in the last byte: the end of the ES256 signature. */
const tamper = (code) => { const b = b45decode(code.slice(4)); b[b.length - 1] ^= 1; return `CR1:${b45encode(b)}`; };

let srv;
let browser;
let code;
let qrPng;
let citizen;
let receiptId;

async function newReceipt() {
  const svc = await api(srv.url, 'GET', `/api/collections/services/records?filter=${encodeURIComponent("code='enquiry'")}`);
  const created = await api(srv.url, 'POST', '/api/collections/requests/records', {
    token: citizen.token,
    body: { service: svc.body.items[0].id, citizen: citizen.record.id, answers: { topic: 'Opening hours', question: 'When is the registry open?' } },
  });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const list = await api(srv.url, 'GET', `/api/collections/receipts/records?filter=${encodeURIComponent(`request='${created.body.id}'`)}`, { token: citizen.token });
  return list.body.items[0];
}

const cli = (...args) => execFileSync(binary(), ['receipts', ...args, '--dir', srv.dataDir], { env: srv.env, encoding: 'utf8' });

before(async () => {
  srv = await startServer();
  citizen = await login(srv.url, 'citizens', 'citizen@demo.civicdesk.example');
  const first = await newReceipt();
  code = first.code;
  receiptId = first.id;
  const png = await fetch(`${srv.url}/api/mobile/receipts/${receiptId}/qr.png?ppm=4`, { headers: { authorization: citizen.token } });
  qrPng = Buffer.from(await png.arrayBuffer());
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'], // playwright gives each launch a fresh profile dir
  });
});

after(async () => {
  await browser?.close();
  await srv?.stop();
});

async function verifyIn(page, text) {
  await page.fill('#code', text);
  await page.evaluate(() => { delete document.getElementById('result').dataset.valid; });
  await page.click('#verify');
  await page.waitForSelector('#result[data-valid]');
  return page.$eval('#result', (el) => ({ valid: el.dataset.valid === 'true', reason: el.dataset.reason, text: el.textContent }));
}

test('/verify/ works offline once loaded: valid, tampered and scanned codes', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${srv.url}/verify/?lang=en`);
  await page.waitForSelector('body[data-keys="ready"][data-sw="ready"]', { timeout: 20000 });

  const online = await verifyIn(page, code);
  assert.equal(online.valid, true, online.text);
  assert.match(online.text, /Checked with the city’s server/);
  assert.match(online.text, /was received by Comune di Genova/);

  await context.setOffline(true);
  await page.reload();
  await page.waitForSelector('body[data-keys="ready"]', { timeout: 20000 });
  assert.equal(await page.textContent('h1'), 'Verify a receipt');

  const valid = await verifyIn(page, code);
  assert.equal(valid.valid, true, valid.text);
  assert.match(valid.text, /Checked offline/);

  const bad = await verifyIn(page, tamper(code));
  assert.deepEqual([bad.valid, bad.reason], [false, 'bad_signature']);
  assert.match(bad.text, /altered or forged/);

  const cut = await verifyIn(page, code.slice(0, -2));
  assert.deepEqual([cut.valid, cut.reason], [false, 'malformed']);

  // a picture of the QR code, read by the vendored jsQR (no BarcodeDetector in headless Linux Chromium)
  await page.evaluate(() => { delete document.getElementById('result').dataset.valid; });
  await page.setInputFiles('#image', { name: 'receipt.png', mimeType: 'image/png', buffer: qrPng });
  await page.waitForSelector('#result[data-valid]', { timeout: 20000 });
  assert.equal(await page.$eval('#result', (el) => el.dataset.valid), 'true');
  assert.equal(await page.inputValue('#code'), code);

  // languages: <html lang> and the texts follow the choice
  for (const [lang, title] of [['hu', 'Nyugta ellenőrzése'], ['et', 'Kviitungi kontrollimine'], ['sv', 'Kontrollera ett kvitto'], ['it', 'Verifica una ricevuta']]) {
    await page.selectOption('#lang', lang);
    assert.equal(await page.getAttribute('html', 'lang'), lang);
    assert.equal(await page.textContent('h1'), title);
  }
  assert.match(await page.textContent('#result'), /Ricevuta valida/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('/verify/ online: a key rotated after the JWKS was cached, and a revoked receipt', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${srv.url}/verify/?lang=en`);
  await page.waitForSelector('body[data-keys="ready"]');
  cli('rotate-key'); // the page holds the old JWKS now
  const fresh = await newReceipt();
  const res = await verifyIn(page, fresh.code);
  assert.equal(res.valid, true, `a new key is fetched on unknown_key: ${res.text}`);

  cli('revoke', fresh.id, '--reason', 'issued in error');
  const revoked = await verifyIn(page, fresh.code);
  assert.deepEqual([revoked.valid, revoked.reason], [false, 'revoked_receipt']);
  assert.match(revoked.text, /revoked this receipt/);
  await context.close();
});

/** y4m turns a grayscale-ish PNG into a still YUV4MPEG2 video, Chromium's fake camera input. */
function y4m(pngBuf, frames = 10) {
  const img = PNG.sync.read(pngBuf);
  const pad = 64; // a margin of white around the code, as a camera would see paper
  const w = img.width + 2 * pad;
  const h = img.height + 2 * pad;
  const y = Buffer.alloc(w * h, 235);
  for (let row = 0; row < img.height; row++) {
    for (let col = 0; col < img.width; col++) {
      const i = (row * img.width + col) * 4;
      y[(row + pad) * w + col + pad] = img.data[i] < 128 ? 16 : 235;
    }
  }
  const uv = Buffer.alloc((w / 2) * (h / 2) * 2, 128);
  const frame = Buffer.concat([Buffer.from('FRAME\n'), y, uv]);
  return Buffer.concat([Buffer.from(`YUV4MPEG2 W${w} H${h} F10:1 Ip A1:1 C420jpeg\n`), ...Array(frames).fill(frame)]);
}

test('/verify/ scans a QR code with the camera', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'civicdesk-verify-cam-'));
  const video = join(dir, 'qr.y4m');
  writeFileSync(video, y4m(qrPng));
  const cam = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      `--use-file-for-fake-video-capture=${video}`],
  });
  try {
    const context = await cam.newContext({ permissions: ['camera'] });
    const page = await context.newPage();
    await page.goto(`${srv.url}/verify/?lang=en`);
    await page.waitForSelector('body[data-keys="ready"]');
    await page.click('#scan');
    await page.waitForSelector('#result[data-valid]', { timeout: 30000 });
    assert.equal(await page.$eval('#result', (el) => el.dataset.valid), 'true');
    assert.equal(await page.inputValue('#code'), code);
    assert.equal(await page.isHidden('#camera'), true, 'the camera stops after a read');
  } finally {
    await cam.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('/verify/ has no axe WCAG 2.2 AA violations', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${srv.url}/verify/?lang=it`);
  await page.waitForSelector('body[data-keys="ready"]');
  await verifyIn(page, tamper(code)); // with a result on screen
  await injectAxe(page);
  const res = await page.evaluate(() => window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] }));
  assert.deepEqual(res.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(' ')}`), []);
  await context.close();
});

test('the embedded jsQR is the web lockfile\'s copy', () => {
  // scripts/vendor-web.sh (run by `make build`) copies it from web/node_modules
  const vendored = readFileSync(join(repoRoot, 'pb_public/verify/vendor/jsQR.js'));
  const locked = readFileSync(join(repoRoot, 'web/node_modules/jsqr/dist/jsQR.js'));
  assert.ok(vendored.equals(locked), 'pb_public/verify/vendor/jsQR.js differs from web/node_modules/jsqr/dist/jsQR.js: run make build');
});
