// Citizen PWA shell: the first view's bytes over the wire (printed; ≤ 150,000),
// the service worker's precache over the wire (printed; ≤ 300,000 more, CONTRACT
// §8; its uncompressed bodies are printed too), Chromium's own
// installability check, one versioned cache holding the whole shell, and deep
// links served offline.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import { startServer, repoRoot } from './lib/server.js';
import { launch } from './lib/pwa.js';

const FIRST_VIEW_BUDGET = 150_000;
const PRECACHE_BUDGET = 300_000;
const sw = readFileSync(join(repoRoot, 'pb_public', 'service-worker.js'), 'utf8');
const VERSION = sw.match(/const VERSION = '([0-9a-f]+)'/)[1];
const SHELL = [...sw.match(/const SHELL = \[([\s\S]*?)\];/)[1].matchAll(/'([^']+)'/g)].map((m) => m[1]);

let srv;
let b;
before(async () => { srv = await startServer(); b = await launch(); });
after(async () => { await b?.close(); await srv?.stop(); });

test('first view weight, precache weight, installable, versioned cache, offline deep links', async () => {
  const { page, context } = b;
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const sizes = new Map();
  const urls = new Map();
  cdp.on('Network.responseReceived', (e) => urls.set(e.requestId, e.response.url));
  cdp.on('Network.loadingFinished', (e) => sizes.set(e.requestId, e.encodedDataLength));

  await page.goto(`${srv.url}/`);
  await page.waitForSelector('a.card[href="/new/pothole"]'); // the first view is the catalogue (browsing needs no account)
  await page.waitForLoadState('networkidle');
  let firstView = 0;
  const lines = [];
  for (const [id, n] of sizes) {
    firstView += n;
    lines.push(`${String(n).padStart(7)}  ${new URL(urls.get(id) || 'about:blank').pathname}`);
  }
  console.log(`PWA first view: ${firstView} bytes over the wire in ${sizes.size} responses (budget ${FIRST_VIEW_BUDGET})\n${lines.sort().join('\n')}`);
  assert.ok(firstView > 10_000, 'the measurement saw the app load');
  assert.ok(firstView <= FIRST_VIEW_BUDGET, `first view ${firstView} > ${FIRST_VIEW_BUDGET}`);

  // the precache: what the worker downloads (it bypasses the HTTP cache)
  await page.waitForFunction(() => navigator.serviceWorker.controller, null, { timeout: 20000 });
  const cache = await page.evaluate(async () => {
    const keys = await caches.keys();
    const out = { keys, files: {} };
    for (const k of keys) {
      const c = await caches.open(k);
      for (const req of await c.keys()) out.files[new URL(req.url).pathname] = (await (await c.match(req)).arrayBuffer()).byteLength;
    }
    return out;
  });
  const bodies = Object.values(cache.files).reduce((a, n) => a + n, 0);
  // CONTRACT §8 bounds what the precache adds over the wire, as for the first
  // view: each shell file as the worker's fetch receives it (compressed; the
  // worker's downloads are not visible to the page's CDP session)
  let precache = 0;
  for (const path of SHELL) precache += await wireBytes(`${srv.url}${path}`);
  console.log(`PWA precache: ${precache} bytes over the wire, ${bodies} bytes of bodies, in ${Object.keys(cache.files).length} files (budget ${PRECACHE_BUDGET} over the wire)`);
  assert.ok(precache > 10_000 && precache < bodies, 'the measurement saw compressed files');
  assert.ok(precache <= PRECACHE_BUDGET, `precache ${precache} > ${PRECACHE_BUDGET}`);
  assert.deepEqual(cache.keys, [`civicdesk-shell-${VERSION}`], 'exactly one cache, named by this version');
  assert.deepEqual(Object.keys(cache.files).sort(), [...SHELL].sort(), 'the cache holds the whole shell');

  // Chromium's own installability verdict (manifest, icons, worker with fetch handler)
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
  assert.deepEqual(installabilityErrors, []);

  // deep links are served by the worker offline (not by the server's SPA fallback)
  await context.setOffline(true);
  for (const path of ['/signin', '/signup', '/requests', '/new/pothole', '/receipts']) {
    const res = await page.goto(`${srv.url}${path}`);
    assert.ok(res.fromServiceWorker(), `${path} from the service worker`);
    await page.waitForSelector('main h1');
  }
  await context.setOffline(false);
});

// wireBytes is the size of url's body as sent, with the encodings Chromium
// accepts (node:http does not decompress, so the bytes counted are the wire's).
function wireBytes(url) {
  return new Promise((resolve, reject) => {
    http.get(url, { headers: { 'accept-encoding': 'gzip, deflate, br, zstd' } }, (res) => {
      if (res.statusCode !== 200) { res.resume(); reject(new Error(`${url}: ${res.statusCode}`)); return; }
      let n = 0;
      res.on('data', (c) => { n += c.length; });
      res.on('end', () => resolve(n));
      res.on('error', reject);
    }).on('error', reject);
  });
}
