// Staff console sign-in against the real binary: the password step, PocketBase's
// MFA one-time code read from the server's log (a wrong code first), the idle
// lock of a shared counter (the browser clock is moved forward, no waiting),
// the manual lock surviving a reload, and "sign out everywhere" revoking the
// token that another device holds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, otpCode, api, demoPassword } from './lib/server.js';
import { launch, clerk, codesSeen } from './lib/console.js';

let srv;
let b;
before(async () => { srv = await startServer(); b = await launch(); });
after(async () => { await b?.close(); await srv?.stop(); });

const EMAIL = clerk('roads');

/** submit clicks the form's button until the answer is not the per-IP rate limit. */
async function submit(page, form, done) {
  for (let i = 0; i < 10; i++) {
    await page.click(`${form} button[type=submit]`);
    const r = await done();
    if (r !== 'limited') return r;
    await page.waitForTimeout(2000);
  }
  throw new Error('kept being rate limited');
}

const errorOf = (page, id) => page.waitForFunction((i) => {
  const s = document.getElementById(i)?.textContent || '';
  return /\S/.test(s) ? s : null;
}, id, { timeout: 15000 }).then((h) => h.jsonValue());

test('password, then a wrong one-time code, then the right one; lock, reload, unlock', async () => {
  const { page } = b;
  await page.goto(`${srv.url}/staff/`);
  await page.waitForSelector('#signin-form');
  // a language chosen on this device wins over the staff record's (the demo clerks' is Italian)
  await page.selectOption('#lang-select', 'en');
  await page.waitForFunction(() => document.documentElement.lang === 'en' && !document.body.dataset.routing);
  await page.waitForSelector('#signin-form');

  // wrong password: a clear message, no code step
  await page.fill('#email', EMAIL);
  await page.fill('#password', 'not-the-password');
  const wrong = await submit(page, '#signin-form', async () => {
    const msg = await errorOf(page, 'signin-error');
    return /Too many/.test(msg) ? 'limited' : msg;
  });
  assert.match(wrong, /e-mail or the password is wrong/);

  // right password with "shared computer" ticked: the code step
  await page.fill('#password', demoPassword);
  await page.check('#shared');
  const seen = codesSeen(srv, EMAIL);
  await submit(page, '#signin-form', async () => {
    const r = await Promise.race([
      page.waitForSelector('#otp-form', { timeout: 15000 }).then(() => 'otp'),
      errorOf(page, 'signin-error').then((m) => (/Too many/.test(m) ? 'limited' : m)),
    ]);
    if (r === 'limited') await page.evaluate(() => { document.getElementById('signin-error').textContent = ''; });
    return r;
  });
  const code = await otpCode(srv.url, EMAIL, seen);
  assert.match(code, /^\d{8}$/);
  assert.equal(await page.getAttribute('#otp', 'autocomplete'), 'one-time-code');

  // a wrong code: "wrong", not "expired" (the server answers both with the same 400)
  const bad = code === '00000000' ? '11111111' : '00000000';
  await page.fill('#otp', bad);
  await page.click('#otp-form button[type=submit]');
  assert.match(await errorOf(page, 'otp-error'), /code is wrong/);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'otp', 'focus stays in the code field to retype');
  assert.equal(await page.getAttribute('#otp', 'aria-invalid'), 'true');

  await page.fill('#otp', ` ${code.slice(0, 4)} ${code.slice(4)} `); // pasted with spaces
  await page.click('#otp-form button[type=submit]');
  await page.waitForSelector('#queue-rows', { state: 'attached' });
  assert.match(await page.textContent('#who'), /Clerk \(roads\)/);

  // the manual lock hides the data and survives a reload
  await page.click('#lock-now');
  await page.waitForSelector('#unlock-form');
  assert.equal(await page.$('#queue-rows'), null, 'no queue data under the lock');
  assert.equal(await page.isVisible('#nav'), false);
  await page.reload();
  await page.waitForSelector('#unlock-form');
  assert.equal(await page.$('#queue-rows'), null);
  await page.fill('#unlock-password', 'wrong-password');
  const unlockMsg = await submit(page, '#unlock-form', async () => {
    const m = await errorOf(page, 'unlock-error');
    if (/Too many/.test(m)) { await page.evaluate(() => { document.getElementById('unlock-error').textContent = ''; }); return 'limited'; }
    return m;
  });
  assert.match(unlockMsg, /wrong/);
  await page.evaluate(() => { document.getElementById('unlock-error').textContent = ''; });
  await page.fill('#unlock-password', demoPassword);
  await submit(page, '#unlock-form', async () => Promise.race([
    page.waitForSelector('#queue-rows', { state: 'attached', timeout: 15000 }).then(() => 'in'),
    errorOf(page, 'unlock-error').then(async (m) => {
      await page.evaluate(() => { document.getElementById('unlock-error').textContent = ''; });
      return /Too many/.test(m) ? 'limited' : m;
    }),
  ]));
  assert.equal(codesSeen(srv, EMAIL), seen + 1, 'unlocking asks for no new one-time code');
});

test('idle lock of a shared computer: the screen locks after the chosen minutes without use', async () => {
  // the context's clock is faked from here on (no real waiting); the tab reloads signed in
  const { page } = b;
  await page.clock.install();
  await page.reload();
  await page.waitForSelector('#queue-rows', { state: 'attached' });
  const idle = await page.evaluate(() => JSON.parse(localStorage.getItem('civicdesk.staff.settings')).idleMinutes);
  assert.equal(idle, 5);
  await page.clock.fastForward('04:00');
  assert.ok(await page.$('#queue-rows'), 'not locked before the idle time');
  await page.clock.fastForward('01:10');
  await page.waitForSelector('#unlock-form');
  assert.equal(await page.$('#queue-rows'), null);
  await page.fill('#unlock-password', demoPassword);
  await submit(page, '#unlock-form', async () => Promise.race([
    page.waitForSelector('#queue-rows', { state: 'attached', timeout: 15000 }).then(() => 'in'),
    errorOf(page, 'unlock-error').then(async (m) => {
      await page.evaluate(() => { document.getElementById('unlock-error').textContent = ''; });
      return /Too many/.test(m) ? 'limited' : m;
    }),
  ]));
});

test('sign out everywhere revokes the token another device holds', async () => {
  const { page } = b;
  const token = await page.evaluate(() => JSON.parse(localStorage.getItem('pocketbase_auth')).token);
  const before1 = await api(srv.url, 'GET', '/api/staff/counts', { token });
  assert.equal(before1.status, 200);
  await page.goto(`${srv.url}/staff/#/settings`);
  await page.waitForSelector('#sign-out-everywhere');
  await page.click('#sign-out-everywhere');
  await page.waitForSelector('#signin-form');
  const after1 = await api(srv.url, 'GET', '/api/staff/counts', { token });
  assert.equal(after1.status, 401, 'the old token is refused');
  assert.equal(await page.evaluate(() => localStorage.getItem('pocketbase_auth')), null);
});
