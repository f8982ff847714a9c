// Consultations in the staff console, against the real binary: a supervisor
// writes a draft in the editor (the server's 400 naming `title` shows at the
// field), adds a free-text question, schedules it, opens it now; a citizen's
// ballot arrives through sync; after the closing minute the supervisor publishes
// and sees the results as a table with a chart drawn from it, approves the free
// text, and extends the demo consultation's closing time (logged in its history).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, api } from './lib/server.js';
import { launch, signIn, axe, SUPERVISOR, CITIZEN, token } from './lib/console.js';

let srv;
let b;
before(async () => { srv = await startServer(); b = await launch(); });
after(async () => { await b?.close(); await srv?.stop(); });

const utc = (ms) => new Date(Date.now() + ms).toISOString().slice(0, 16); // the form's local time, zone UTC

async function go(page, hash, ready) {
  await page.evaluate((x) => { location.hash = x; }, hash);
  await page.waitForSelector(ready);
  await page.waitForFunction(() => !document.body.dataset.routing);
}

test('a supervisor drafts, schedules, opens, publishes and moderates a consultation, and extends one', async () => {
  const { page } = b;
  await signIn(page, srv, SUPERVISOR);
  await go(page, '#/consultations', '#cons-rows tr');
  await page.click('#cons-new');
  await page.waitForSelector('#cons-form');

  await page.fill('#cons-code', 'e2e-1');
  await page.fill('#cons-zone', 'UTC');
  await page.fill('#cons-opens', utc(86400000));
  await page.fill('#cons-closes', utc(2 * 86400000));
  await page.fill('#q-0-title-en', 'Which bench colour?');
  await page.fill('#q-0-o-0-label-en', 'Green');
  await page.fill('#q-0-o-1-label-en', 'Blue');
  await page.click('#cons-save');
  // no title: the server's 400 names it, shown at the first title field
  await page.waitForSelector('#cons-title-it-err');
  assert.equal(await page.getAttribute('#cons-title-it', 'aria-invalid'), 'true');
  assert.deepEqual(await axe(page), [], 'axe on the editor showing the refusal');
  await page.fill('#cons-title-en', 'Benches in the park');
  // a free-text question
  await page.click('#q-add');
  await page.waitForSelector('#q-1-kind');
  await page.selectOption('#q-1-kind', 'text');
  await page.waitForSelector('#q-1-maxlength');
  await page.fill('#q-1-title-en', 'Anything else?');
  await page.fill('#q-1-maxlength', '300');
  await page.click('#cons-save');
  await page.waitForURL(/#\/consultations\/[a-z0-9]{15}$/);
  await page.waitForSelector('#cons-phase[data-phase="draft"]');
  const id = page.url().split('/').pop();
  const rec = await api(srv.url, 'GET', `/api/collections/consultations/records/${id}`, { token: await token(srv, 'staff', SUPERVISOR) });
  assert.equal(rec.body.code, 'E2E-1');
  assert.deepEqual(rec.body.questions.map((q) => q.kind), ['single', 'text']);
  assert.equal(rec.body.questions[1].maxLength, 300);

  await page.click('#cons-schedule');
  await page.waitForSelector('#cons-phase[data-phase="scheduled"]');
  // open now, closing at a minute at least a minute away (so the ballot below arrives while it is open)
  await page.fill('#cons-closes', utc(((120 - new Date().getUTCSeconds()) * 1000)));
  await page.click('#cons-open-now');
  await page.waitForSelector('#cons-phase[data-phase="open"]');
  assert.ok(await page.$('#cons-extend-form'), 'an open consultation offers to extend its closing');

  // a citizen answers through sync
  const cit = await token(srv, 'citizens', CITIZEN);
  const push = await api(srv.url, 'POST', '/api/mobile/sync/push', {
    token: cit,
    body: { clientID: 'e2e-console-cons', mutations: [{ id: 1, name: 'ballot.cast', args: { consultationId: id, baseVersion: 0, answers: { q1: { options: ['a'] }, q2: { text: 'Put one near the fountain' } } } }] },
  });
  assert.equal(push.body.results?.[0]?.status, 'applied', JSON.stringify(push.body));

  // after the closing minute: publish, then results as table and chart
  for (let i = 0; i < 40 && !(await page.$('#cons-publish-go')); i++) {
    await page.waitForTimeout(5000);
    await page.reload();
    await page.waitForSelector('#cons-phase');
  }
  await page.click('#cons-publish-go');
  await page.waitForSelector('#cons-phase[data-phase="published"]');
  const table = await page.$$eval('#res-q1 table tbody tr', (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
  assert.deepEqual(table.slice(0, 2).map((r) => r.slice(0, 2)), [['Green', '1'], ['Blue', '0']]);
  assert.equal(await page.$$eval('#res-q1 svg.chart rect', (r) => r.length), 2, 'one bar per option, from the table');
  assert.match(await page.textContent('#cons-total'), /1 ballot/);

  // moderation: the free text is published only once approved
  const before = await api(srv.url, 'GET', `/api/consultations/${id}/results.json`);
  assert.deepEqual(before.body.texts, []);
  await page.check('#cons-text-list input[type=checkbox]');
  await page.waitForFunction(() => /published/.test(document.getElementById('cons-texts-status')?.textContent || ''));
  const afterMod = await api(srv.url, 'GET', `/api/consultations/${id}/results.json`);
  assert.deepEqual(afterMod.body.texts.map((x) => x.text), ['Put one near the fountain']);

  // the demo consultation is open: its closing can be extended, never brought forward
  await go(page, '#/consultations', '#cons-rows tr[data-phase="open"]');
  await page.click('#cons-rows tr[data-phase="open"] a');
  await page.waitForSelector('#cons-extend');
  const was = await page.inputValue('#cons-extend');
  const [d, tm] = was.split('T');
  const earlier = new Date(`${d}T00:00:00Z`);
  earlier.setUTCDate(earlier.getUTCDate() - 1);
  await page.fill('#cons-extend', `${earlier.toISOString().slice(0, 10)}T${tm}`);
  await page.click('#cons-extend-save');
  await page.waitForSelector('#cons-extend-err');
  assert.match(await page.textContent('#cons-extend-error'), /only be extended/);
  const later = new Date(`${d}T00:00:00Z`);
  later.setUTCDate(later.getUTCDate() + 1);
  await page.fill('#cons-extend', `${later.toISOString().slice(0, 10)}T${tm}`);
  await page.click('#cons-extend-save');
  await page.waitForFunction((x) => document.getElementById('cons-closes-shown')?.textContent.startsWith(x), `${later.toISOString().slice(0, 10)} ${tm}`);
  assert.match(await page.textContent('#cons-history'), /closing extended/);

  assert.deepEqual(b.errors.filter((e) => !/status of 4\d\d/.test(e)), [], 'no page errors');
  b.csp.assertNone('consultation views');
});
