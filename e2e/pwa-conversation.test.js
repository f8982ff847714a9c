// Citizen app II (issue 13), in a real browser against the real binary: the
// fixes seen on a phone (city named, OTP wording, times, the sent step, counters,
// photo refusals, one-row navigation, a distinct "waiting for you"), and the
// conversation: answering the city's question offline with a photo, correcting
// a request while received, "not fixed" (reopen), rating; axe on every new view
// in five languages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, login, api } from './lib/server.js';
import { launch, signUp, filePothole, waitFor, testPhoto, serverRequests, PASSWORD } from './lib/pwa.js';
import { injectAxe } from './lib/axe.js';

const LANGS = ['it', 'en', 'sv', 'et', 'hu'];

let srv;
let b;
let email;
before(async () => { srv = await startServer(); b = await launch({ viewport: { width: 390, height: 844 } }); });
after(async () => { await b?.close(); await srv?.stop(); });

async function axeIn5(page, name) {
  const problems = [];
  for (const l of [...LANGS, 'en']) {
    await page.selectOption('#lang-select', l);
    await page.waitForFunction((x) => document.documentElement.lang === x && !document.getElementById('main').hasAttribute('aria-busy'), l);
    await injectAxe(page);
    const v = await page.evaluate(async () => (await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } }))
      .violations.map((x) => `${x.id}: ${x.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`));
    for (const x of v) problems.push(`${name} [${l}] ${x}`);
    const navRows = await page.evaluate(() => new Set([...document.querySelectorAll('#nav a')].map((a) => Math.round(a.getBoundingClientRect().top))).size);
    if (navRows > 1) problems.push(`${name} [${l}] navigation wraps to ${navRows} rows at 390 px`);
  }
  return problems;
}

const clerk = () => login(srv.url, 'staff', 'clerk.roads@demo.civicdesk.example');
async function setStatus(id, status, note = '') {
  const r = await api(srv.url, 'PATCH', `/api/collections/requests/records/${id}`, { token: (await clerk()).token, body: { status, status_note: note } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
}
async function serverRequest(id) { return (await serverRequests(srv.url, email)).find((r) => r.id === id); }
const statusOf = async (page) => (await page.textContent('#request-status')).trim();

test('before signing in: the catalogue, the city named, the manifest, OTP wording', async () => {
  const { page } = b;
  await page.goto(`${srv.url}/`);
  await page.waitForSelector('a.card[href="/new/pothole"]'); // browsing needs no account
  await page.waitForFunction(() => document.getElementById('city-name').textContent.length > 0);
  assert.equal(await page.textContent('#city-name'), 'Comune di Genova (demo)');
  assert.equal(await page.evaluate(() => document.getElementById('city-arms').naturalWidth > 0), true, 'arms shown');
  const manifest = await (await fetch(`${srv.url}/manifest.webmanifest`)).json();
  assert.equal(manifest.name, 'Comune di Genova (demo)');
  assert.ok(manifest.icons.some((i) => i.src === '/city/arms'), 'the arms are a manifest icon');
  assert.ok(await page.$('#nav a[href="/signin"]'), 'signed out, the navigation offers signing in');
  const card = await page.textContent('a.card[href="/new/parking_permit"]');
  assert.equal(card.split('40.00').length - 1, 1, `the fee once on the card: ${card}`);
  await page.click('a.card[href="/new/pothole"]');
  await page.waitForSelector('#signin-to-send');

  // the code sign-in never claims a mail it cannot know was sent
  const delivery = await fetch(`${srv.url}/api/auth-delivery`).then((r) => (r.ok ? r.json() : {})).catch(() => ({}));
  await page.click('#nav a[href="/signin"]');
  await page.click('a[href^="/signin/code"]');
  await page.fill('#email', 'citizen@demo.civicdesk.example');
  await page.click('#otp-request');
  const sent = await (await page.waitForSelector('#otp-sent')).textContent();
  if (delivery.otp === 'mail') assert.match(sent, /We sent a code/);
  else {
    assert.doesNotMatch(sent, /We sent/);
    assert.match(sent, delivery.otp === 'log' ? /city’s desk gives you the code/ : /from your email or from the city’s desk/);
  }
});

test('filing: counter instead of a cut, named photo refusals, the sent step, both times, the receipt on the page', async () => {
  const { page } = b;
  email = await signUp(page, srv.url);
  await page.click('a.card[href="/new/pothole"]');
  await page.check('input[name="f-size"][value="medium"]');
  await page.fill('#address', 'Via Roma 1');
  const long = 'x'.repeat(5010);
  await page.fill('#description', long);
  assert.equal((await page.inputValue('#description')).length, 5010, 'a pasted text is never cut');
  assert.match(await page.textContent('#description-count'), /10 characters too many/);
  assert.equal(await page.getAttribute('#description', 'aria-invalid'), 'true');

  // six photos at once: five are kept, the sixth is named; a non-image is an alert naming the file
  await page.setInputFiles('#photo-pick', [0, 1, 2, 3, 4, 5].map((i) => ({ name: `p-${i}.png`, mimeType: 'image/png', buffer: testPhoto(200, 150, i) })));
  await page.waitForFunction(() => document.querySelectorAll('#photo-list img').length === 5);
  assert.match(await page.textContent('#photo-alert'), /“p-5\.png” was not added/);
  await page.click('#photo-list button'); // remove one, to make room for the bad file
  await page.setInputFiles('#photo-pick', { name: 'notes.txt', mimeType: 'image/png', buffer: Buffer.from('not an image') });
  await page.waitForFunction(() => /notes\.txt/.test(document.getElementById('photo-alert').textContent));
  assert.equal(await page.getAttribute('#photo-alert', 'role'), 'alert');
  while (await page.$('#photo-list button')) await page.click('#photo-list button');

  await page.click('#request-form button[type=submit]');
  await page.waitForSelector('#form-summary li');
  assert.match(await page.textContent('#form-summary'), /Description: at most 5000 characters/);
  await page.fill('#description', 'A deep hole by the bus stop.');
  await page.click('#request-form button[type=submit]');
  await page.waitForURL(/\?sent=1$/);
  await waitFor(async () => /Sent to the city/.test(await page.textContent('#sent-step')), { what: 'the sent step' });
  assert.match(await page.textContent('#sent-step'), /\d{4}-\d{6}/);
  assert.ok(await page.waitForSelector('#request-receipts img.qr', { timeout: 30000 }), 'the receipt is on the request page');
  assert.match(await page.textContent('#request-receipts'), /Certified time/);
  assert.ok((await page.textContent('#request-filed')).trim() && (await page.textContent('#request-arrived')).trim());

  // offline, the step says "waiting to send"
  await b.context.setOffline(true);
  await filePothole(page, { photos: 0, seed: 7 });
  assert.match(await page.textContent('#sent-step'), /waiting to send/);
  assert.match(await page.textContent('#request-arrived'), /Not sent yet/);
  await b.context.setOffline(false);
  await page.evaluate(() => window.dispatchEvent(new Event('online')));
  await waitFor(async () => /Sent to the city/.test(await page.textContent('#sent-step')), { what: 'sent after reconnecting' });
});

test('the city asks; the citizen answers offline with a photo; the request goes back to the clerk', async () => {
  const { page, context } = b;
  const id = await filePothole(page, { photos: 0, seed: 11 });
  await waitFor(async () => /^\d{4}-\d+$/.test((await page.textContent('#request-number')).trim()), { what: 'number' });
  const received = await page.evaluate(() => getComputedStyle(document.querySelector('#request-status .badge')).backgroundColor);
  await setStatus(id, 'waiting_citizen', 'How wide is the hole?');
  await waitFor(async () => !!(await page.$('#ask')), { timeout: 20000, what: 'the question banner' });
  assert.match(await page.textContent('#ask'), /How wide is the hole\?/);
  const waiting = await page.evaluate(() => getComputedStyle(document.querySelector('#request-status .badge')).backgroundColor);
  assert.notEqual(waiting, received, '"Waiting for you" does not look like "Received"');
  const problems = await axeIn5(page, 'question and reply');

  await context.setOffline(true);
  await page.fill('#reply', 'About 40 cm, by the kerb.');
  await page.setInputFiles('#reply-photos-pick', { name: 'wide.png', mimeType: 'image/png', buffer: testPhoto(400, 300, 3) });
  await page.waitForFunction(() => document.querySelectorAll('#reply-photos-list img').length === 1);
  await page.click('#reply-send');
  await page.waitForSelector('#reply-pending');
  await page.reload(); // still queued after a reload offline
  await page.waitForSelector('#reply-pending');
  await context.setOffline(false);
  await page.evaluate(() => window.dispatchEvent(new Event('online')));

  await waitFor(async () => { const r = await serverRequest(id); return r.status === 'in_progress' && r.photos.length === 1; }, { timeout: 40000, what: 'in progress with the photo on the server' });
  const { token } = await login(srv.url, 'citizens', email, PASSWORD);
  const ev = await api(srv.url, 'GET', `/api/collections/request_events/records?filter=${encodeURIComponent(`request="${id}"`)}&skipTotal=1`, { token });
  assert.ok(ev.body.items.some((e) => e.type === 'comment' && e.message === 'About 40 cm, by the kerb.' && e.author_type === 'citizen'));
  await waitFor(async () => /In progress/.test(await statusOf(page)), { what: 'in progress in the app' });
  assert.equal(await page.$('#ask'), null);

  // resolved: "not fixed" reopens it (the pothole service reopens by itself)
  await setStatus(id, 'resolved');
  await waitFor(async () => !!(await page.$('#nf-box')), { timeout: 20000, what: 'the not-fixed box' });
  await page.click('#nf-box summary');
  await page.click('#rate-send'); // empty questionnaire: the summary names the questions
  await page.waitForSelector('#rate-summary li');
  problems.push(...await axeIn5(page, 'not fixed and rating'));
  await page.fill('#nf-reason', 'The hole is back after the rain.');
  await page.click('#nf-send');
  await waitFor(async () => (await serverRequest(id)).status === 'in_progress', { timeout: 30000, what: 'reopened on the server' });
  await waitFor(async () => /Reported as not fixed/.test(await page.textContent('ol.timeline')), { what: 'not fixed in the history' });

  // resolved again: the questionnaire, counted for the supervisor
  await setStatus(id, 'resolved');
  await waitFor(async () => !!(await page.$('#rate-form')), { timeout: 20000, what: 'the questionnaire' });
  await page.check('#rate-solved-0');
  await page.check('#rate-satisfaction-3');
  await page.check('#rate-speed-1');
  await page.click('#rate-send');
  const sup = await login(srv.url, 'staff', 'supervisor@demo.civicdesk.example');
  const rated = await waitFor(async () => {
    const r = await api(srv.url, 'GET', `/api/collections/request_ratings/records?filter=${encodeURIComponent(`request="${id}"`)}&skipTotal=1`, { token: sup.token });
    return r.body.items && r.body.items[0];
  }, { timeout: 30000, what: 'the rating on the server' });
  assert.equal(rated.satisfaction, 4);
  assert.equal(rated.solved, 'yes');
  await waitFor(async () => !!(await page.$('#rate-done')), { what: 'rated in the app' });
  assert.deepEqual(problems, []);
});

test('correct a request while it is received; not after', async () => {
  const { page } = b;
  const id = await filePothole(page, { photos: 0, seed: 21 });
  await waitFor(async () => /^\d{4}-\d+$/.test((await page.textContent('#request-number')).trim()), { what: 'number' });
  await page.click('#edit-box summary');
  const problems = await axeIn5(page, 'correct a request');
  await page.fill('#edit-description', 'e2e pothole, phone number removed');
  await page.click('#edit-save');
  await waitFor(async () => (await serverRequest(id)).description === 'e2e pothole, phone number removed', { timeout: 30000, what: 'the correction on the server' });
  await waitFor(async () => /Corrected by you/.test(await page.textContent('ol.timeline')), { what: 'the correction in the history' });
  await setStatus(id, 'in_progress');
  await waitFor(async () => /In progress/.test(await statusOf(page)), { timeout: 20000, what: 'in progress' });
  assert.equal(await page.$('#edit-box'), null, 'no correcting once the city works on it');
  assert.deepEqual(problems, []);
  assert.deepEqual(b.errors.filter((e) => /i18n: missing/.test(e)), []);
});
