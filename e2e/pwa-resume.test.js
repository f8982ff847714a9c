// Citizen PWA sync engine across tabs and restarts of the app: (1) the app is
// closed in the middle of a photo upload and reopened: the upload resumes from
// the server's offset (HEAD, then PATCH from there), the photo arrives once;
// (2) two tabs with queued work never push or upload at the same time (Web Locks).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.js';
import { launch, signUp, filePothole, serverRequests, waitFor, syncText } from './lib/pwa.js';

let srv;
let b;
before(async () => { srv = await startServer(); b = await launch(); });
after(async () => { await b?.close(); await srv?.stop(); });

test('closed mid-upload: reopening resumes from the stored offset', async () => {
  const { context } = b;
  let page = b.page;
  const email = await signUp(page, srv.url);
  await page.waitForFunction(() => navigator.serviceWorker.controller, null, { timeout: 20000 });
  await context.setOffline(true);
  const id = await filePothole(page, { photos: 1, noise: true, seed: 7 });
  const size = await page.evaluate(() => new Promise((res) => {
    const r = indexedDB.open(`civicdesk-${JSON.parse(localStorage.getItem('civicdesk.auth')).record.id}`);
    r.onsuccess = () => { const q = r.result.transaction('attachments').objectStore('attachments').getAll(); q.onsuccess = () => res(q.result[0].size); };
  }));
  assert.ok(size > 600 * 1024, `the photo spans several 256 KiB chunks (${size} bytes)`);

  // the connection dies after the first chunk was accepted, then the app is closed
  let patches = 0;
  await context.route('**/api/mobile/uploads/**', (route) => {
    if (route.request().method() === 'PATCH' && ++patches > 1) return route.abort('connectionreset');
    return route.continue();
  });
  const firstChunk = page.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().includes('/api/mobile/uploads/') && r.status() === 204, { timeout: 30000 });
  await context.setOffline(false);
  const resp = await firstChunk;
  const offset = Number(resp.headers()['upload-offset']);
  await waitFor(() => patches > 1, { what: 'the second chunk attempted' });
  await page.close();
  await context.unroute('**/api/mobile/uploads/**');
  assert.ok(offset > 0 && offset < size, `closed at offset ${offset} of ${size}`);

  const seen = [];
  context.on('request', (r) => { if (r.url().includes('/api/mobile/uploads/')) seen.push({ method: r.method(), offset: r.headers()['upload-offset'] }); });
  const heads = [];
  context.on('response', (r) => { if (r.request().method() === 'HEAD' && r.url().includes('/api/mobile/uploads/')) heads.push(Number(r.headers()['upload-offset'])); });
  page = await context.newPage();
  await page.goto(`${srv.url}/requests/${id}`);
  await waitFor(async () => (await serverRequests(srv.url, email))[0]?.photos.length === 1, { timeout: 60000, what: 'the photo attached on the server' });
  await waitFor(async () => /All sent/.test(await syncText(page)), { what: '"All sent"' });
  const resumed = seen.filter((x) => x.method === 'PATCH');
  assert.equal(seen[0]?.method, 'HEAD', `asked the server for its offset first: ${JSON.stringify(seen)}`);
  // the server may hold more than the first chunk (a chunk can land while the page closes): resume where it says
  assert.ok(heads[0] >= offset && heads[0] < size, `server offset at reopen ${heads[0]} (first chunk ended at ${offset}, size ${size})`);
  assert.ok(resumed.length > 0 && Number(resumed[0].offset) === heads[0], `resumed at ${resumed[0]?.offset}, server had ${heads[0]}: ${JSON.stringify(seen)}`);
  assert.equal((await serverRequests(srv.url, email)).length, 1);
});

test('two tabs: one pusher at a time', async () => {
  const { context } = b;
  const pageA = context.pages().find((p) => !p.isClosed());
  const email = await pageA.evaluate(() => JSON.parse(localStorage.getItem('civicdesk.auth')).record.email);
  let reloadsA = 0;
  pageA.on('load', () => { reloadsA += 1; });
  const pageB = await context.newPage();
  await pageB.goto(`${srv.url}/requests`);
  await pageB.waitForSelector('main h1');
  await pageB.waitForLoadState('networkidle'); // B's boot has refreshed the token
  await pageA.waitForLoadState('networkidle');
  // the refreshed token B stored is the same citizen's: A must not start over
  // (it once did, and then each tab's boot reloaded the other without end)
  assert.equal(reloadsA, 0, 'a token refresh in another tab does not reload this one');

  await context.setOffline(true);
  const ids = [await filePothole(pageA, { photos: 2, seed: 21 }), await filePothole(pageB, { photos: 2, seed: 31 })];

  // every sync HTTP exchange, from both tabs, with its start and end
  const spans = [];
  const open = new Map();
  const isSync = (r) => /\/api\/mobile\/(sync\/push|uploads\/)/.test(r.url());
  const tab = (r) => (r.frame().page() === pageA ? 'A' : 'B');
  context.on('request', (r) => { if (isSync(r)) open.set(r, { tab: tab(r), url: r.url(), method: r.method(), start: Date.now() }); });
  const done = (r) => { const s = open.get(r); if (s) { s.end = Date.now(); spans.push(s); open.delete(r); } };
  context.on('requestfinished', done);
  context.on('requestfailed', done);
  await context.setOffline(false);
  // both tabs hear "online" at the same moment
  await Promise.all([pageA, pageB].map((p) => p.evaluate(() => dispatchEvent(new Event('online')))));

  const reqs = await waitFor(async () => {
    const list = await serverRequests(srv.url, email);
    const mine = list.filter((r) => ids.includes(r.id));
    return mine.length === 2 && mine.every((r) => r.photos.length === 2) ? list : null;
  }, { timeout: 60000, what: 'both requests with photos' });
  assert.equal(reqs.length, 3, 'no duplicates');
  spans.sort((x, y) => x.start - y.start);
  assert.ok(spans.length >= 5, `saw the sync traffic (${spans.length} exchanges)`);
  // exchanges of different tabs never overlap (a few ms of slack: Playwright reports events asynchronously)
  const SLACK = 15;
  for (const x of spans) {
    for (const y of spans) {
      if (x.tab === 'A' && y.tab === 'B') {
        assert.ok(x.end <= y.start + SLACK || y.end <= x.start + SLACK, `tabs overlap: ${JSON.stringify(x)} and ${JSON.stringify(y)}`);
      }
    }
  }
});
