// Helpers for the citizen PWA browser tests (e2e/pwa-*.test.js): Chromium via
// playwright-core with the FIELD-NOTES flags, sign-up, filing, and checks
// against the server through the records API.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { api, login } from './server.js';
import { watchCSP } from './csp.js';

export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * launch starts Chromium with a fresh profile and returns {context, page, close}.
 * Console errors and page errors are collected in `errors`; CSP violations in
 * `csp` (lib/csp.js: csp.assertNone(step) fails on any).
 */
export async function launch({ locale = 'en-GB', viewport = { width: 412, height: 860 } } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'civicdesk-pwa-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_FLAGS, locale, viewport,
    serviceWorkers: 'allow',
    // Genoa: the demo city; the app asks for the position only after a tap
    geolocation: { latitude: 44.4056, longitude: 8.9463, accuracy: 12 }, permissions: ['geolocation'],
  });
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  const watch = (p) => {
    p.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    p.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  };
  watch(page);
  context.on('page', watch);
  const csp = await watchCSP(context);
  return {
    context, page, errors, dir, csp,
    async close() { await context.close(); rmSync(dir, { recursive: true, force: true }); },
  };
}

/**
 * testPhoto returns a PNG (w x h, a gradient) as a Buffer; with noise the
 * pixels are random, so even the resized JPEG is large (several tus chunks).
 */
export function testPhoto(w = 1200, h = 900, seed = 0, noise = false) {
  const png = new PNG({ width: w, height: h });
  let r = seed * 2654435761 + 1;
  const rnd = () => { r = (r * 1103515245 + 12345) % 2147483648; return r & 255; };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      png.data[i] = noise ? rnd() : (x + seed * 40) % 256;
      png.data[i + 1] = noise ? rnd() : (y * 255) / h;
      png.data[i + 2] = noise ? rnd() : Math.abs(x - y) % 256;
      png.data[i + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}

let counter = 0;
/** uniqueEmail returns a fresh citizen address. */
export const uniqueEmail = (tag = 'pwa') => `${tag}-${Date.now()}-${++counter}@e2e.civicdesk.example`;
export const PASSWORD = 'correct-horse-battery-9';

/**
 * submitAuth submits the sign-in/up form until it gets through: the server
 * rate-limits auth per IP (2 per 3 s by default) and every test client is
 * 127.0.0.1, so a "too many attempts" answer is retried like a citizen would.
 */
async function submitAuth(page) {
  for (let i = 0; i < 8; i++) {
    await page.click('form button[type=submit]');
    const r = await Promise.race([
      page.waitForURL(/\/new$/, { timeout: 20000 }).then(() => 'in'),
      page.waitForFunction(() => /Too many attempts/.test(document.querySelector('.summary')?.textContent || ''), null, { timeout: 20000 }).then(() => 'limited'),
    ]);
    if (r === 'in') return;
    await page.waitForTimeout(3500);
  }
  throw new Error('sign-in kept being rate limited');
}

/** signUp creates a citizen through the app's sign-up form and waits for the service list. */
export async function signUp(page, url, email = uniqueEmail()) {
  await page.goto(`${url}/signup`);
  await page.fill('#name', 'E2E Citizen');
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await submitAuth(page);
  await page.waitForSelector('a.card[href="/new/pothole"]', { timeout: 20000 });
  return email;
}

/** signIn signs in through the app's password form (the page is on /signin). */
export async function signIn(page, email) {
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await submitAuth(page);
}

/**
 * filePothole files a pothole report through the app (navigating inside the
 * app, so it works offline) and returns the client-chosen request id.
 */
export async function filePothole(page, { photos = 1, address = 'Via Roma 1', seed = 0, noise = false } = {}) {
  await page.click('nav a[href="/new"]');
  await page.click('a.card[href="/new/pothole"]');
  await page.waitForSelector('#request-form');
  await page.check('input[name="f-size"][value="medium"]');
  await page.fill('#f-depth_cm', '12');
  await page.click('#use-position');
  await page.waitForFunction(() => /44\.40560/.test(document.querySelector('#position-status').textContent));
  await page.fill('#address', address);
  await page.fill('#description', `e2e pothole ${seed}`);
  for (let i = 0; i < photos; i++) {
    await page.setInputFiles('#photo-pick', { name: `p${seed}-${i}.png`, mimeType: 'image/png', buffer: testPhoto(noise ? 1600 : 1200, noise ? 1200 : 900, seed + i, noise) });
    await page.waitForFunction((n) => document.querySelectorAll('#photo-list img').length === n, i + 1);
  }
  await page.click('#request-form button[type=submit]');
  await page.waitForURL(/\/requests\/[a-z0-9]{15}(\?sent=1)?$/); // the "sent" step
  return new URL(page.url()).pathname.split('/').pop();
}

// one password login per citizen and server: auth is rate limited, and tests poll
const tokens = new Map();
async function citizenToken(url, email) {
  const key = `${url} ${email}`;
  for (let i = 0; !tokens.has(key); i++) {
    try {
      tokens.set(key, (await login(url, 'citizens', email, PASSWORD)).token);
    } catch (err) {
      // the server rate-limits auth per IP and every test client is 127.0.0.1
      if (!/: 429 /.test(err.message) || i >= 15) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  return tokens.get(key);
}

/** serverRequests lists the citizen's requests as the server has them. */
export async function serverRequests(url, email) {
  const token = await citizenToken(url, email);
  const r = await api(url, 'GET', '/api/collections/requests/records?perPage=200&skipTotal=1&sort=created', { token });
  if (r.status !== 200) throw new Error(`list requests: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.items;
}

/** serverReceipts lists the citizen's receipts as the server has them. */
export async function serverReceipts(url, email) {
  const token = await citizenToken(url, email);
  const r = await api(url, 'GET', '/api/collections/receipts/records?perPage=200&skipTotal=1', { token });
  if (r.status !== 200) throw new Error(`list receipts: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.items;
}

/** waitFor polls fn until it returns a truthy value or the timeout passes. */
export async function waitFor(fn, { timeout = 30000, interval = 250, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    try { last = await fn(); if (last) return last; } catch (err) { last = err; }
    await new Promise((r) => setTimeout(r, interval));
  }
  throw new Error(`timed out waiting for ${what}: last ${last instanceof Error ? last.message : JSON.stringify(last)}`);
}

/** syncText returns the sync indicator's text. */
export const syncText = (page) => page.textContent('#sync-status');
