// Helpers for the staff console browser tests (e2e/console-*.test.js): a desk-sized
// Chromium, sign-in through the console's own form with the one-time code read
// from the server's log, and a few calls to the server for checks.
import { otpCode, demoPassword, api, login } from './server.js';
import { launch as launchBrowser, CHROMIUM_FLAGS } from './pwa.js';
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { injectAxe } from './axe.js';

export const LANGS = ['it', 'en', 'sv', 'et', 'hu'];

/** clerk is the demo clerk of a department (demo/demo_seed.go). */
export const clerk = (dept) => `clerk.${dept}@demo.civicdesk.example`;
export const SUPERVISOR = 'supervisor@demo.civicdesk.example';

/** launch starts Chromium at a desk size (the split view needs ≥ 70rem). */
export function launch(opts = {}) {
  return launchBrowser({ viewport: { width: 1366, height: 900 }, ...opts });
}

/** codesSeen counts the one-time codes already logged for email. */
export function codesSeen(srv, email) {
  return srv.logs().split('\n').filter((l) => l.startsWith(`ONE-TIME CODE for ${email}: `)).length;
}

/**
 * signIn signs a staff member in through the console: password, then the
 * one-time code the server logged. Retries the password step when the server's
 * per-IP auth rate limit answers (every test client is 127.0.0.1).
 */
export async function signIn(page, srv, email, { password = demoPassword, shared = false, lang = 'en' } = {}) {
  await page.goto(`${srv.url}/staff/`);
  await page.waitForSelector('#signin-form');
  if (lang) {
    // a chosen language is kept on this device, over the staff record's
    await page.selectOption('#lang-select', lang);
    await page.waitForFunction((l) => document.documentElement.lang === l && !document.querySelector('[data-routing]'), lang);
    await page.waitForSelector('#signin-form');
  }
  await page.fill('#email', email);
  for (let i = 0; i < 10; i++) {
    await page.fill('#password', password);
    if (shared) await page.check('#shared');
    const seen = codesSeen(srv, email);
    await page.click('#signin-form button[type=submit]');
    const r = await Promise.race([
      page.waitForSelector('#otp-form', { timeout: 15000 }).then(() => 'otp'),
      page.waitForFunction(() => /\S/.test(document.getElementById('signin-error')?.textContent || ''), null, { timeout: 15000 }).then(() => 'error'),
    ]);
    if (r === 'otp') {
      const code = await otpCode(srv.url, email, seen);
      await page.fill('#otp', code);
      await page.click('#otp-form button[type=submit]');
      await page.waitForSelector('#queue-rows', { state: 'attached', timeout: 15000 });
      await page.waitForFunction(() => !/^(Loading|…)/.test(document.getElementById('queue-status')?.textContent || 'Loading'), null, { timeout: 15000 }).catch(() => {});
      return;
    }
    await page.waitForTimeout(2500);
  }
  throw new Error(`sign-in of ${email} kept failing`);
}

/** axe runs axe-core's WCAG 2.2 A/AA rules and returns the violations as strings. */
export async function axe(page) {
  await injectAxe(page);
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } });
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
  });
}

export const CITIZEN = 'citizen@demo.civicdesk.example';

const serviceIds = new Map();
/** serviceId looks a service up by code (services are public). */
export async function serviceId(srv, code) {
  if (!serviceIds.has(`${srv.url} ${code}`)) {
    const r = await api(srv.url, 'GET', `/api/collections/services/records?filter=${encodeURIComponent(`code="${code}"`)}&fields=id`);
    serviceIds.set(`${srv.url} ${code}`, r.body.items[0].id);
  }
  return serviceIds.get(`${srv.url} ${code}`);
}

const tokens = new Map();
/** token signs in once per server and account (staff complete MFA from the log) and caches the token. */
export async function token(srv, collection, email) {
  const key = `${srv.url} ${email}`;
  for (let i = 0; !tokens.has(key); i++) {
    try {
      tokens.set(key, (await login(srv.url, collection, email)).token);
    } catch (err) {
      if (!/429/.test(err.message) || i >= 15) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  return tokens.get(key);
}

/** filePothole files a pothole as the demo citizen through the records API and returns the record. */
export async function filePothole(srv, { lat = 44.4056, lon = 8.9463, description = 'e2e pothole', address = 'Via Roma 1' } = {}) {
  const tok = await token(srv, 'citizens', CITIZEN);
  const me = JSON.parse(Buffer.from(tok.split('.')[1], 'base64url').toString()).id;
  const r = await api(srv.url, 'POST', '/api/collections/requests/records', {
    token: tok,
    body: { citizen: me, service: await serviceId(srv, 'pothole'), answers: { size: 'large', danger: true, depth_cm: 9 }, description, address, location: { lat, lon } },
  });
  if (r.status !== 200) throw new Error(`file pothole: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/**
 * y4mFromPNG turns a PNG (a receipt QR) into a Y4M video file that Chromium's
 * fake camera plays in a loop: the image centred on white, a few frames.
 */
export function y4mFromPNG(pngBuffer, file, { w = 640, h = 480, frames = 5 } = {}) {
  const png = PNG.sync.read(pngBuffer);
  const size = Math.min(w, h) - 40;
  const y = Buffer.alloc(w * h, 235);
  const x0 = Math.floor((w - size) / 2);
  const y0 = Math.floor((h - size) / 2);
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      const sx = Math.floor((i * png.width) / size);
      const sy = Math.floor((j * png.height) / size);
      const k = (sy * png.width + sx) * 4;
      const lum = 0.299 * png.data[k] + 0.587 * png.data[k + 1] + 0.114 * png.data[k + 2];
      y[(y0 + j) * w + x0 + i] = lum < 128 ? 16 : 235;
    }
  }
  const uv = Buffer.alloc((w / 2) * (h / 2), 128);
  const parts = [Buffer.from(`YUV4MPEG2 W${w} H${h} F10:1 Ip A1:1 C420jpeg\n`)];
  for (let f = 0; f < frames; f++) parts.push(Buffer.from('FRAME\n'), y, uv, uv);
  writeFileSync(file, Buffer.concat(parts));
}

/** launchWithCamera starts Chromium whose camera plays the Y4M file (camera permission granted). */
export async function launchWithCamera(y4m) {
  const dir = mkdtempSync(join(tmpdir(), 'civicdesk-cam-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [...CHROMIUM_FLAGS, '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${y4m}`],
    locale: 'en-GB', viewport: { width: 1366, height: 900 }, permissions: ['camera'],
  });
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  return { context, page, errors, async close() { await context.close(); rmSync(dir, { recursive: true, force: true }); } };
}
