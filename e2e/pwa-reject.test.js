// Citizen PWA when the server refuses a mutation: a request filed offline
// against a form that changed meanwhile (the city added a required question)
// is rejected on push; it does not block the queue (the next request goes
// through), the app says why, drops its photos, and the citizen can remove it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startServer, binary, login, api } from './lib/server.js';
import { launch, signUp, filePothole, serverRequests, waitFor, syncText } from './lib/pwa.js';

let srv;
let b;
before(async () => { srv = await startServer(); b = await launch(); });
after(async () => { await b?.close(); await srv?.stop(); });

test('a rejected request is explained, does not block the queue, and can be removed', async () => {
  const { page, context } = b;
  const email = await signUp(page, srv.url);
  await page.waitForFunction(() => navigator.serviceWorker.controller, null, { timeout: 20000 });

  await context.setOffline(true);
  const refused = await filePothole(page, { photos: 1, seed: 40 });
  // meanwhile the city adds a required question to the pothole form
  execFileSync(binary(), ['superuser', 'upsert', 'root@e2e.civicdesk.example', 'root-password-e2e-1', '--dir', srv.dataDir], { env: srv.env, stdio: 'pipe' });
  const su = await login(srv.url, '_superusers', 'root@e2e.civicdesk.example', 'root-password-e2e-1');
  const svc = (await api(srv.url, 'GET', `/api/collections/services/records?filter=${encodeURIComponent('code="pothole"')}`, { token: su.token })).body.items[0];
  const fields = [...svc.fields, { code: 'lane', datatype: 'string', required: true, order: 9, label: { en: 'Lane', it: 'Corsia', sv: 'Körfält', et: 'Sõidurada', hu: 'Sáv' } }];
  const upd = await api(srv.url, 'PATCH', `/api/collections/services/records/${svc.id}`, { token: su.token, body: { fields } });
  assert.equal(upd.status, 200, JSON.stringify(upd.body));
  // a second request, to another service, queued after the refused one
  await page.click('nav a[href="/new"]');
  await page.click('a.card[href="/new/residence_certificate"]');
  await page.check('input[name="f-purpose"][value="bank"]');
  await page.fill('#f-copies', '1');
  await page.check('input[name="f-delivery"][value="desk"]');
  await page.click('#request-form button[type=submit]');
  await page.waitForURL(/\/requests\/[a-z0-9]{15}(\?sent=1)?$/);
  const accepted = new URL(page.url()).pathname.split('/').pop();

  await context.setOffline(false);
  const reqs = await waitFor(async () => { const l = await serverRequests(srv.url, email); return l.length === 1 ? l : null; }, { what: 'the second request on the server' });
  assert.equal(reqs[0].id, accepted);
  await waitFor(async () => /All sent/.test(await syncText(page)), { what: '"All sent" (the refused photo is not retried)' });

  await page.click('nav a[href="/requests"]');
  await page.click(`a.card[href="/requests/${refused}"]`);
  await page.waitForSelector('#discard-request');
  assert.match(await page.textContent('main'), /did not accept this request.*[Ll]ane/s);
  await page.click('#discard-request');
  await page.waitForSelector('#request-list');
  const cards = await page.$$eval('#request-list a.card', (els) => els.map((e) => e.getAttribute('href')));
  assert.deepEqual(cards, [`/requests/${accepted}`]);
  assert.equal((await serverRequests(srv.url, email)).length, 1);
});
