// Staff console actions against the real binary: the concurrency guard (someone
// changes the request after the clerk opened it: the clerk is told before the
// change is applied, then chooses "reload" or "apply anyway"), and bulk actions
// over selected rows with a result per row (one row fails, the others apply).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, api } from './lib/server.js';
import { launch, signIn, clerk, SUPERVISOR, token, filePothole } from './lib/console.js';

let srv;
let b;
before(async () => { srv = await startServer(); b = await launch(); await signIn(b.page, srv, clerk('roads')); });
after(async () => { await b?.close(); await srv?.stop(); });

const get = async (id) => (await api(srv.url, 'GET', `/api/collections/requests/records/${id}`, { token: await token(srv, 'staff', SUPERVISOR) })).body;

test('the guard: a change made since the clerk opened the request is not overwritten unasked', async () => {
  const r = await filePothole(srv, { description: 'guard' });
  const { page } = b;
  await page.goto(`${srv.url}/staff/#/queue/open/${r.id}`);
  await page.waitForSelector('#actions');
  // the supervisor changes it meanwhile
  const sup = await api(srv.url, 'PATCH', `/api/collections/requests/records/${r.id}`, { token: await token(srv, 'staff', SUPERVISOR), body: { priority: 'urgent' } });
  assert.equal(sup.status, 200, JSON.stringify(sup.body));
  await page.selectOption('#act-priority', 'low');
  await page.click('#act-save');
  await page.waitForSelector('#guard:not([hidden])');
  assert.match(await page.textContent('#guard'), /changed this request since you opened it/);
  assert.equal((await get(r.id)).priority, 'urgent', 'nothing written');
  // reload keeps what the clerk chose and shows the new state
  await page.click('#guard-reload');
  await page.waitForSelector('#guard', { state: 'hidden' });
  assert.equal(await page.inputValue('#act-priority'), 'low', 'the draft survives the reload');
  // the supervisor again, then "apply anyway"
  await api(srv.url, 'PATCH', `/api/collections/requests/records/${r.id}`, { token: await token(srv, 'staff', SUPERVISOR), body: { priority: 'high' } });
  await page.click('#act-save');
  await page.waitForSelector('#guard:not([hidden])');
  await page.click('#guard-apply');
  await page.waitForFunction(async () => !location.hash.endsWith('guard'));
  for (let i = 0; i < 100 && (await get(r.id)).priority !== 'low'; i++) await page.waitForTimeout(100);
  assert.equal((await get(r.id)).priority, 'low', 'applied after the clerk chose to');
});

test('bulk: status and note over selected rows, a result per row', async () => {
  const rows = [];
  for (let i = 0; i < 3; i++) rows.push(await filePothole(srv, { description: `bulk ${i}` }));
  const { page } = b;
  await page.goto(`${srv.url}/staff/#/queue/unassigned`);
  for (const r of rows) await page.waitForSelector(`#queue-rows tr[data-id="${r.id}"]`);
  // one of them is rejected by someone else after the list was shown: it cannot move on
  const rej = await api(srv.url, 'PATCH', `/api/collections/requests/records/${rows[2].id}`, { token: await token(srv, 'staff', SUPERVISOR), body: { status: 'rejected', status_note: 'not ours' } });
  assert.equal(rej.status, 200, JSON.stringify(rej.body));
  await page.waitForFunction((id) => /rejected/.test(document.querySelector(`#queue-rows tr[data-id="${id}"]`)?.textContent || ''), rows[2].id);
  for (const r of rows) await page.check(`#queue-rows tr[data-id="${r.id}"] .row-select`);
  await page.waitForSelector('#bulk-form');
  assert.match(await page.textContent('#bulk-count'), /3 requests selected/);
  await page.selectOption('#bulk-status', 'in_progress');
  await page.fill('#bulk-note', 'We are on it.');
  await page.check('#bulk-public');
  await page.click('#bulk-apply');
  await page.waitForSelector('#bulk-results li[data-id]');
  const results = await page.$$eval('#bulk-results li[data-id]', (lis) => lis.map((li) => ({ id: li.dataset.id, ok: li.classList.contains('ok'), text: li.textContent })));
  assert.equal(results.length, 3);
  assert.deepEqual(results.filter((x) => x.ok).map((x) => x.id).sort(), [rows[0].id, rows[1].id].sort());
  const bad = results.find((x) => !x.ok);
  assert.equal(bad.id, rows[2].id);
  assert.match(bad.text, new RegExp(`${rows[2].number}: not changed`));
  assert.match(await page.textContent('#bulk-results'), /2 of 3 done/);
  for (const r of rows.slice(0, 2)) {
    const rec = await get(r.id);
    assert.equal(rec.status, 'in_progress');
    assert.equal(rec.status_note, 'We are on it.');
  }
  assert.equal((await get(rows[2].id)).status, 'rejected');
  // the rows stay where they were (updated in place by realtime)
  await page.waitForFunction((id) => /in progress/.test(document.querySelector(`#queue-rows tr[data-id="${id}"]`)?.textContent || ''), rows[0].id);
});
