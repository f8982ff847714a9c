// Citizen PWA updates: a new service worker (a new shell version) installs its
// own complete cache next to the running one and waits; the page offers the
// update and, on the tap, the new worker takes over and the page reloads, so a
// page never runs a mix of versions; the old cache is then deleted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, request } from 'node:http';
import { startServer, repoRoot, freePort } from './lib/server.js';
import { launch } from './lib/pwa.js';

const swText = readFileSync(join(repoRoot, 'pb_public', 'service-worker.js'), 'utf8');
const VERSION = swText.match(/const VERSION = '([0-9a-f]+)'/)[1];
const NEXT = 'e2e0next0version';

let srv;
let b;
let proxy;
let proxyURL;
let nextWorker = null; // when set, the proxy answers /service-worker.js with it

// A pass-through proxy in front of the binary: the browser fetches worker
// scripts itself, outside Playwright's request routing, so the "deploy" of a
// new version happens here.
before(async () => {
  srv = await startServer();
  const port = await freePort();
  proxy = createServer((req, res) => {
    if (nextWorker && req.url.split('?')[0] === '/service-worker.js') {
      res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'no-cache' });
      res.end(nextWorker);
      return;
    }
    const up = request(`${srv.url}${req.url}`, { method: req.method, headers: { ...req.headers, host: new URL(srv.url).host } }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on('error', () => { res.writeHead(502); res.end(); });
    req.pipe(up);
  });
  await new Promise((r) => proxy.listen(port, '127.0.0.1', r));
  proxyURL = `http://127.0.0.1:${port}`;
  b = await launch();
});
after(async () => { await b?.close(); proxy?.close(); await srv?.stop(); });

test('an update installs beside the running version and takes over only on request', async () => {
  const { page } = b;
  await page.goto(`${proxyURL}/signin`);
  await page.waitForFunction(() => navigator.serviceWorker.controller, null, { timeout: 20000 });
  const keys = () => page.evaluate(() => caches.keys());
  assert.deepEqual(await keys(), [`civicdesk-shell-${VERSION}`]);

  // the server now ships the next version of the worker
  nextWorker = swText.replace(`const VERSION = '${VERSION}'`, `const VERSION = '${NEXT}'`);
  assert.notEqual(nextWorker, swText);
  const navBefore = await page.evaluate(() => performance.getEntriesByType('navigation')[0].startTime + performance.timeOrigin);
  await page.evaluate(async () => (await navigator.serviceWorker.getRegistration()).update());

  await page.waitForSelector('#update:not([hidden]) button', { timeout: 20000 });
  assert.match(await page.textContent('#update'), /new version/);
  // waiting: the old worker still controls the page and its cache is intact
  assert.deepEqual((await keys()).sort(), [`civicdesk-shell-${NEXT}`, `civicdesk-shell-${VERSION}`].sort());
  assert.equal(await page.evaluate(async () => !!(await navigator.serviceWorker.getRegistration()).waiting), true);

  const reloaded = page.waitForEvent('load');
  await page.click('#update button');
  await reloaded;
  await page.waitForSelector('#email');
  const navAfter = await page.evaluate(() => performance.getEntriesByType('navigation')[0].startTime + performance.timeOrigin);
  assert.ok(navAfter > navBefore, 'the page reloaded under the new worker');
  await page.waitForFunction((n) => caches.keys().then((k) => k.length === 1 && k[0] === `civicdesk-shell-${n}`), NEXT, { timeout: 10000 });
  assert.equal(await page.evaluate(async () => !!(await navigator.serviceWorker.getRegistration()).waiting), false);
});
