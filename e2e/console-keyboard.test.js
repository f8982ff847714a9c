// A clerk's day by keyboard alone (no mouse) against the real binary: sign in
// with Tab and Enter, go to Unassigned (g u), move with j, assign to me (a),
// choose the status (s + arrows), write the public note, save with Ctrl+Enter (the
// next request opens), the ? help dialog opens and closes with Escape, and with
// single-key shortcuts switched off in Settings, `j` types nothing and does nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, otpCode, api, demoPassword } from './lib/server.js';
import { launch, clerk, codesSeen, filePothole, token } from './lib/console.js';

let srv;
let b;
// with the demo's weeks of history, so the queues hold what a working day does
before(async () => { srv = await startServer({ env: { CIVICDESK_DEMO_HISTORY: 'on' } }); b = await launch(); });
after(async () => { await b?.close(); await srv?.stop(); });

const EMAIL = clerk('roads');
const focused = (page) => page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName);

test('the whole day by keyboard', async () => {
  const a = await filePothole(srv, { description: 'keyboard one' });
  const { page } = b;
  const kb = page.keyboard;
  await page.goto(`${srv.url}/staff/`);
  await page.waitForSelector('#signin-form');
  await page.selectOption('#lang-select', 'en');
  await page.waitForFunction(() => !document.body.dataset.routing && document.getElementById('email'));
  // the skip link is the first stop
  assert.equal(await page.evaluate(() => document.querySelector('a[href], button, input, select, textarea').id), 'skip');
  await page.focus('#email');
  await kb.type(EMAIL);
  for (let i = 0; i < 10 && !(await page.$('#otp-form')); i++) {
    await page.focus('#password');
    await kb.press('Control+A');
    await kb.type(demoPassword);
    const seen = codesSeen(srv, EMAIL);
    await kb.press('Enter');
    if (await page.waitForSelector('#otp-form', { timeout: 4000 }).catch(() => null)) {
      assert.equal(await focused(page), 'otp');
      await kb.type(await otpCode(srv.url, EMAIL, seen));
      await kb.press('Enter');
      break;
    }
    await page.waitForTimeout(2000);
  }
  await page.waitForSelector('#queue-rows', { state: 'attached' });

  // g u: Unassigned; newest first is not needed: find our row, move the cursor to it with j
  await kb.press('g');
  await kb.press('u');
  await page.waitForFunction(() => location.hash === '#/queue/unassigned' && !document.body.dataset.routing);
  await page.waitForSelector(`#queue-rows tr[data-id="${a.id}"]`);
  const ids = await page.$$eval('#queue-rows tr', (trs) => trs.map((tr) => tr.dataset.id));
  const at = ids.indexOf(a.id);
  for (let i = 0; i <= at; i++) await kb.press('j');
  await page.waitForFunction((id) => location.hash.endsWith(`/${id}`), a.id);
  // each j opened the file of its row: wait for this row's file, not the one
  // before it (under load the previous file is still drawn for a moment)
  await page.waitForFunction((num) => (document.getElementById('file-title')?.textContent || '').includes(num), a.number);
  await page.waitForSelector('#actions');
  assert.equal(await focused(page), 'file-title', 'the opened file takes the focus');
  // a: assign to me
  await kb.press('a');
  await page.waitForFunction(() => /Clerk \(roads\)/.test(document.getElementById('file-assignee')?.textContent || ''));
  // s: the status select; arrows choose; Tab to the note
  await kb.press('s');
  assert.equal(await focused(page), 'act-status');
  const options = await page.$$eval('#act-status option', (os) => os.map((o) => o.value));
  for (let i = 0; i < options.indexOf('resolved'); i++) await kb.press('ArrowDown');
  assert.equal(await page.inputValue('#act-status'), 'resolved');
  await page.focus('#act-note');
  await kb.press('Control+A');
  await kb.type('Filled by keyboard.');
  await kb.press('Control+Enter');
  await page.waitForFunction((id) => !location.hash.endsWith(`/${id}`), a.id);
  const cl = await token(srv, 'staff', EMAIL);
  const rec = (await api(srv.url, 'GET', `/api/collections/requests/records/${a.id}`, { token: cl })).body;
  assert.equal(rec.status, 'resolved');
  assert.equal(rec.status_note, 'Filled by keyboard.');

  // ? opens the help, Escape closes it and the focus returns
  await kb.press('Escape');
  await page.waitForFunction(() => !/\/[a-z0-9]{15}$/.test(location.hash));
  await kb.press('?');
  await page.waitForSelector('#help-dialog[open]');
  assert.ok(await page.evaluate(() => !!document.activeElement.closest('#help-dialog')), 'focus moves into the dialog');
  await kb.press('Escape');
  await page.waitForSelector('#help-dialog', { state: 'detached' });

  // shortcuts off: j does nothing
  await page.evaluate(() => { location.hash = '#/settings'; });
  await page.waitForSelector('#set-shortcuts');
  await page.focus('#set-shortcuts');
  await kb.press('Space');
  await page.focus('#set-save');
  await kb.press('Enter');
  await page.waitForFunction(() => /saved/.test(document.getElementById('set-status').textContent));
  await page.evaluate(() => { location.hash = '#/queue/open'; });
  await page.waitForSelector('#queue-rows tr');
  await page.evaluate(() => document.activeElement.blur());
  await kb.press('j');
  await page.waitForTimeout(300);
  assert.equal(await page.evaluate(() => location.hash), '#/queue/open', 'no shortcut fired');
  await kb.press('Control+Enter'); // not a single key: still allowed, nothing to save here
  assert.deepEqual(b.errors.filter((e) => !/status of 401/.test(e)), []);
});
