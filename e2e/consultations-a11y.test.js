// Consultations views in five languages: axe-core finds no WCAG 2.2 A/AA
// violation on the consultation, a question, the review and the results
// views, every string is translated and <html lang> follows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startServer, api, binary } from './lib/server.js';
import { launch, signUp } from './lib/pwa.js';
import { injectAxe } from './lib/axe.js';

const LANGS = ['it', 'en', 'sv', 'et', 'hu'];

let srv;
let b;
before(async () => { srv = await startServer(); b = await launch(); });
after(async () => { await b?.close(); await srv?.stop(); });

async function axe(page) {
  await injectAxe(page);
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } });
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
  });
}

async function checkView(page, name) {
  const problems = [];
  for (const lang of LANGS) {
    await page.selectOption('#lang-select', lang);
    await page.waitForFunction((l) => document.documentElement.lang === l && !document.getElementById('main').hasAttribute('aria-busy'), lang);
    const text = await page.textContent('main');
    if (/\b(null|undefined|NaN)\b|cons\.\w+/.test(text)) problems.push(`${name} [${lang}] shows a raw value or key: ${text.slice(0, 200)}`);
    for (const v of await axe(page)) problems.push(`${name} [${lang}] axe ${v}`);
  }
  return problems;
}

test('consultation, question, review and results views: 0 axe violations in five languages', async () => {
  const { page } = b;
  // a closed consultation with published results (zero ballots is enough for the views)
  execFileSync(binary(), ['superuser', 'upsert', 'root@e2e.civicdesk.example', 'root-pass-123456', '--dir', srv.dataDir], { env: srv.env, stdio: 'pipe' });
  const su = await api(srv.url, 'POST', '/api/collections/_superusers/auth-with-password', { body: { identity: 'root@e2e.civicdesk.example', password: 'root-pass-123456' } });
  const token = su.body.token;
  const demo = await api(srv.url, 'GET', '/api/collections/consultations/records?filter=(code%3D%27BP-2027%27)', {});
  const open = demo.body.items[0];
  const made = await api(srv.url, 'POST', '/api/collections/consultations/records', {
    token,
    body: { code: 'PAST-1', title: open.title, description: open.description, status: 'scheduled', opens_local: '2026-01-01T08:00', closes_local: '2026-01-10T23:59', questions: open.questions },
  });
  assert.equal(made.status, 200, JSON.stringify(made.body));
  const pub = await api(srv.url, 'POST', `/api/consultations/${made.body.id}/publish`, { token });
  assert.equal(pub.status, 200, JSON.stringify(pub.body));

  await signUp(page, srv.url);
  const problems = [];
  const go = async (path, name, ready) => {
    await page.evaluate((p) => { history.pushState(null, '', p); dispatchEvent(new PopStateEvent('popstate')); }, path);
    await page.waitForSelector(ready, { state: 'attached' });
    problems.push(...await checkView(page, name));
  };
  await go('/consultations', 'list', 'main a[href^="/consultations/"]');
  await go(`/consultations/${open.id}`, 'consultation', '.ballot-status');
  // each question's own inputs: the previous question's form may still be on screen
  for (let i = 1; i <= open.questions.length; i++) await go(`/consultations/${open.id}/q/${i}`, `question ${i}`, `form.question [id^="q-${open.questions[i - 1].id}-"]`);
  await go(`/consultations/${open.id}/review`, 'review', 'dl.review');
  await go(`/consultations/${made.body.id}/results`, 'results', 'section.result table');
  const missing = b.errors.filter((e) => /i18n: missing/.test(e));
  assert.deepEqual(missing, []);
  assert.deepEqual(problems, []);
});
