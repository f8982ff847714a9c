// Security of the web apps in a real browser: every view of the citizen PWA
// and of /verify/, in all five languages, runs with zero CSP violations
// (lib/csp.js), and stored-XSS payloads entered through every text path
// (description, answers, address, the clerk's note and public comment, the
// citizen's comment, a pasted receipt code) are shown as text and never run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startServer, binary, login, api } from './lib/server.js';
import { launch, signUp, serverRequests, serverReceipts, waitFor, PASSWORD } from './lib/pwa.js';

const LANGS = ['it', 'en', 'sv', 'et', 'hu'];
// each payload sets window.__xss if it ever runs as markup or script
const XSS = {
  img: '<img src=x onerror="window.__xss=\'img\'">',
  script: '<script>window.__xss="script"</script>',
  svg: '<svg onload="window.__xss=\'svg\'"></svg>',
  link: '<a href="javascript:window.__xss=\'link\'">x</a>',
};
const payload = (where) => (where === 'topic' ? `${where} ${XSS.img}` : `${where} ${XSS.img} ${XSS.script} ${XSS.svg} ${XSS.link}`); // a string answer is short

let srv;
let b;
before(async () => { srv = await startServer(); b = await launch({ locale: 'it-IT' }); });
after(async () => { await b?.close(); await srv?.stop(); });

async function noXSS(page, what) {
  const ran = await page.evaluate(() => window.__xss || null);
  assert.equal(ran, null, `a payload ran during ${what}`);
  const injected = await page.evaluate(() => document.querySelectorAll('main img[src="x"], main script, main svg[onload], main a[href^="javascript:"]').length);
  assert.equal(injected, 0, `payload markup became elements during ${what}`);
}

test('stored XSS through every text path is shown as text; every view of both apps in five languages has zero CSP violations', async () => {
  const { page, csp } = b;
  const email = await signUp(page, srv.url);
  csp.assertNone('sign-up');
  // the watcher sees what the policy refuses (an inline style, an inline script)
  await page.evaluate(() => {
    document.body.setAttribute('style', 'outline: 1px solid red');
    const s = document.createElement('script'); s.textContent = 'window.__inline = 1'; document.body.append(s);
  });
  await waitFor(() => csp.violations.length >= 2, { what: 'the two self-check violations' });
  assert.equal(await page.evaluate(() => window.__inline || null), null, 'the inline script was blocked');
  await page.evaluate(() => { document.body.removeAttribute('style'); document.querySelector('body > script:last-of-type')?.remove(); });
  csp.reset();
  b.errors.length = 0; // the self-check's own console reports

  // 1. the citizen files an enquiry through the app: payloads in a string answer, a text answer and the description
  await page.click('nav a[href="/new"]');
  await page.click('a.card[href="/new/enquiry"]');
  await page.waitForSelector('#request-form');
  await page.fill('#f-topic', payload('topic'));
  await page.fill('#f-question', payload('question'));
  await page.fill('#description', payload('description'));
  await page.click('#request-form button[type=submit]');
  await page.waitForURL(/\/requests\/[a-z0-9]{15}(\?sent=1)?$/); // the sent step (citizen app)
  const enquiry = new URL(page.url()).pathname.split('/').pop();
  await waitFor(async () => (await serverRequests(srv.url, email)).some((r) => r.id === enquiry), { what: 'the enquiry on the server' });

  // 2. a pothole through the records API: payload in the address
  const citizen = await login(srv.url, 'citizens', email, PASSWORD);
  const services = (await api(srv.url, 'GET', `/api/collections/services/records?filter=${encodeURIComponent('code="pothole"')}`)).body.items;
  const pothole = await api(srv.url, 'POST', '/api/collections/requests/records', {
    token: citizen.token,
    body: { citizen: citizen.record.id, service: services[0].id, answers: { size: 'small' }, location: { lat: 44.4056, lon: 8.9463 }, address: payload('address'), description: payload('api description') },
  });
  assert.equal(pothole.status, 200, JSON.stringify(pothole.body));

  // 3. the city answers: a status note and a public comment with payloads
  execFileSync(binary(), ['superuser', 'upsert', 'root@e2e.civicdesk.example', 'root-password-e2e-1', '--dir', srv.dataDir], { env: srv.env, stdio: 'pipe' });
  const su = await login(srv.url, '_superusers', 'root@e2e.civicdesk.example', 'root-password-e2e-1');
  const note = await api(srv.url, 'PATCH', `/api/collections/requests/records/${enquiry}`, { token: su.token, body: { status: 'in_progress', status_note: payload('status note') } });
  assert.equal(note.status, 200, JSON.stringify(note.body));
  const comment = await api(srv.url, 'POST', '/api/collections/request_events/records', { token: su.token, body: { request: enquiry, type: 'comment', message: payload('clerk comment'), public: true } });
  assert.equal(comment.status, 200, JSON.stringify(comment.body));

  // 4. the citizen sees all of it as text, and answers with a payload of their own
  await page.goto(`${srv.url}/requests/${enquiry}`);
  await page.waitForFunction(() => /clerk comment/.test(document.querySelector('main').textContent), null, { timeout: 30000 });
  const text = await page.textContent('main');
  for (const where of ['topic', 'question', 'description', 'status note', 'clerk comment']) {
    assert.ok(text.includes(payload(where)), `${where}: the payload is shown literally`);
  }
  // a sync round may redraw the view between typing and sending: send again until it shows
  let sent = 0;
  await waitFor(async () => {
    if (/citizen comment/.test(await page.textContent('main'))) return true;
    if (sent < 3 && await page.$('#comment')) {
      await page.fill('#comment', payload('citizen comment'));
      await page.click('#comment-form button[type=submit]');
      sent++;
    }
    return false;
  }, { interval: 1000, what: 'the citizen comment in the timeline' });
  await noXSS(page, 'the request view');
  await page.goto(`${srv.url}/requests/${pothole.body.id}`);
  await page.waitForFunction(() => /address/.test(document.querySelector('main').textContent), null, { timeout: 30000 });
  assert.ok((await page.textContent('main')).includes(payload('address')), 'the address is shown literally');
  await noXSS(page, 'the pothole view');
  csp.assertNone('filing and reading the requests');

  // 5. every view of the citizen app, in every language, loaded afresh
  const views = ['/new', '/new/pothole', '/new/enquiry', '/requests', `/requests/${enquiry}`, `/requests/${pothole.body.id}`, '/receipts', '/settings', '/signin', '/signup', '/signin/code'];
  for (const lang of LANGS) {
    await page.goto(`${srv.url}/settings`);
    await page.waitForSelector('#lang-select');
    await page.selectOption('#lang-select', lang);
    await page.waitForFunction((l) => document.documentElement.lang === l, lang);
    for (const v of views) {
      await page.goto(`${srv.url}${v}`);
      // the view has drawn (its modules, strings and data loaded) in the chosen language
      await page.waitForFunction((l) => document.documentElement.lang === l && document.querySelector('main h1'), lang);
      await noXSS(page, `${v} (${lang})`);
      csp.assertNone(`${v} (${lang})`);
    }
  }

  // 6. the verifier, in every language: a real receipt, a tampered one and a payload pasted as the code
  const receipt = (await serverReceipts(srv.url, email))[0];
  assert.ok(receipt && receipt.code.startsWith('CR1:'), 'the enquiry has a receipt');
  for (const lang of LANGS) {
    await page.goto(`${srv.url}/verify/`);
    await page.waitForFunction(() => document.querySelectorAll('#lang option').length >= 5);
    await page.selectOption('#lang', lang);
    await page.waitForFunction((l) => document.documentElement.lang === l, lang);
    for (const code of [receipt.code, `${receipt.code.slice(0, -4)}AAAA`, payload('verifier')]) {
      await page.fill('#code', code);
      await page.click('#verify');
      await page.waitForFunction(() => document.querySelector('#result').textContent.trim() !== '', null, { timeout: 20000 });
      await noXSS(page, `/verify/ (${lang})`);
      await page.evaluate(() => { document.querySelector('#result').textContent = ''; });
    }
    csp.assertNone(`/verify/ (${lang})`);
  }
  assert.deepEqual(b.errors.filter((e) => /Permissions-Policy|Content Security/i.test(e)), [], 'no header errors in the console');
});

test('the dashboard keeps PocketBase\'s own CSP; the apps and API carry ours', async () => {
  const dash = await fetch(`${srv.url}/_/`);
  assert.match(dash.headers.get('content-security-policy') || '', /style-src 'self' 'unsafe-inline'/, 'PocketBase\'s dashboard CSP');
  const appRes = await fetch(`${srv.url}/`);
  assert.match(appRes.headers.get('content-security-policy'), /script-src 'self'; style-src 'self';/);
  assert.match(appRes.headers.get('permissions-policy'), /geolocation=\(self\)/);
  const verify = await fetch(`${srv.url}/verify/`);
  assert.match(verify.headers.get('permissions-policy'), /camera=\(self\)/);
  assert.match(verify.headers.get('permissions-policy'), /geolocation=\(\)/);
});

test('sign out everywhere: the settings button ends every session of the account', async () => {
  const { page, csp } = b;
  await page.goto(`${srv.url}/settings`);
  await page.waitForSelector('#sign-out-everywhere');
  const token = await page.evaluate(() => JSON.parse(localStorage.getItem('civicdesk.auth')).token);
  const email = await page.evaluate(() => JSON.parse(localStorage.getItem('civicdesk.auth')).record.email);
  const other = await login(srv.url, 'citizens', email, PASSWORD); // another device
  assert.equal((await api(srv.url, 'POST', '/api/collections/citizens/auth-refresh', { token: other.token })).status, 200);
  page.once('dialog', (d) => d.accept());
  await page.click('#sign-out-everywhere');
  await page.waitForURL(/\/signin/);
  for (const tok of [token, other.token]) {
    assert.equal((await api(srv.url, 'POST', '/api/collections/citizens/auth-refresh', { token: tok })).status, 401, 'an old token no longer works');
  }
  csp.assertNone('sign out everywhere');
});
