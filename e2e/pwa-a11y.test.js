// Citizen PWA, languages and accessibility: on every view, switching the
// language changes every visible string (no English string of the app remains,
// <html lang> follows), and axe-core finds no WCAG 2.2 A/AA violation in any
// language; at 320 CSS px (400% zoom of a 1280 px window) nothing scrolls sideways.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { startServer } from './lib/server.js';
import { launch, signUp, filePothole, waitFor } from './lib/pwa.js';

const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core/axe.min.js');
const LANGS = ['it', 'en', 'sv', 'et', 'hu'];
const strings = {};
for (const l of LANGS) strings[l] = (await import(`../pb_public/app/lang/${l}.js`)).default;

let srv;
let b;
before(async () => { srv = await startServer(); b = await launch(); });
after(async () => { await b?.close(); await srv?.stop(); });

/** visibleTexts lists the visible text nodes and accessible-name attributes of the page. */
function visibleTexts(page) {
  return page.evaluate(() => {
    const out = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      const s = n.textContent.trim();
      if (!s || !el || el.closest('[hidden], script, style, noscript, option:not(:checked)')) continue;
      if (el.closest('.sr-only') || el.checkVisibility()) out.push(s);
    }
    for (const el of document.querySelectorAll('[aria-label], [alt], [placeholder]')) {
      for (const a of ['aria-label', 'alt', 'placeholder']) if (el.getAttribute(a)) out.push(el.getAttribute(a).trim());
    }
    return out;
  });
}

function asRegex(s) {
  return new RegExp(`^${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\\{\w+\\\}/g, '.*?')}$`);
}

/** untranslated returns the visible texts that are English strings of the app although lang != en. */
function untranslated(texts, lang) {
  const bad = [];
  for (const [key, en] of Object.entries(strings.en)) {
    const forms = typeof en === 'object' ? Object.entries(en) : [['', en]];
    for (const [form, value] of forms) {
      const other = typeof en === 'object' ? strings[lang][key][form] ?? strings[lang][key].other : strings[lang][key];
      if (other === value) continue; // the same word in both languages
      const re = asRegex(value);
      for (const t of texts) if (re.test(t)) bad.push(`${key}: "${t}"`);
    }
  }
  return bad;
}

async function axe(page) {
  // evaluated through DevTools: the app's CSP (script-src 'self') refuses an injected inline <script>
  if (!(await page.evaluate(() => !!window.axe))) await page.evaluate(readFileSync(AXE, 'utf8'));
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } });
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
  });
}

async function switchLang(page, lang) {
  await page.selectOption('#lang-select', lang);
  // the app marks <main> busy until the view is redrawn with that language's catalogue
  await page.waitForFunction((l) => document.documentElement.lang === l && !document.getElementById('main').hasAttribute('aria-busy'), lang);
}

async function checkView(page, name) {
  const problems = [];
  for (const lang of [...LANGS, 'en']) {
    await switchLang(page, lang);
    assert.equal(await page.evaluate(() => document.documentElement.lang), lang);
    const texts = await visibleTexts(page);
    for (const t of texts) if (/\b(null|undefined|NaN|\[object Object\])\b/.test(t)) problems.push(`${name} [${lang}] shows "${t}"`);
    if (lang !== 'en') {
      for (const u of untranslated(texts, lang)) problems.push(`${name} [${lang}] untranslated ${u}`);
    }
    for (const v of await axe(page)) problems.push(`${name} [${lang}] axe ${v}`);
  }
  await page.setViewportSize({ width: 320, height: 800 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  if (overflow > 0) problems.push(`${name}: ${overflow}px horizontal scroll at 320 CSS px`);
  await page.setViewportSize({ width: 412, height: 860 });
  return problems;
}

test('every view: every string translated, <html lang> follows, 0 axe violations, reflows at 320 px', async () => {
  const { page } = b;
  const problems = [];
  const go = async (path, name, ready) => {
    await page.evaluate((p) => { history.pushState(null, '', p); dispatchEvent(new PopStateEvent('popstate')); }, path);
    await page.waitForSelector(ready);
    problems.push(...await checkView(page, name));
  };
  await page.goto(`${srv.url}/signin`);
  await page.waitForSelector('#email');
  problems.push(...await checkView(page, 'sign in'));
  await go('/signup', 'sign up', '#name');
  await go('/signin/code', 'sign in with code', '#otp-request');

  await signUp(page, srv.url);
  problems.push(...await checkView(page, 'services'));
  await page.fill('#service-search', 'xyzzy-nothing');
  await page.waitForSelector('#search-count:not(:empty)');
  problems.push(...await checkView(page, 'services, no match'));
  await page.fill('#service-search', '');

  await go('/new/waste_pickup', 'form (every list type, datetime, text)', '#request-form');
  await page.click('#request-form button[type=submit]');
  await page.waitForSelector('#form-summary li');
  const summary = await page.textContent('#form-summary');
  assert.match(summary, /What should we collect/, 'the error names the field');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'form-summary', 'focus moves to the error summary');
  problems.push(...await checkView(page, 'form with errors'));
  await go('/new/parking_permit', 'form (string with pattern, fee)', '#request-form');

  const id = await filePothole(page, { photos: 1 });
  await waitFor(async () => /^\d{4}-\d+$/.test((await page.textContent('#request-number')).trim()), { what: 'number' });
  problems.push(...await checkView(page, 'request detail'));
  await go('/requests', 'my requests', '#request-list');
  await go('/receipts', 'receipts', 'img.qr');
  await go('/settings', 'settings', '#sign-out');
  await go(`/requests/${id}x`, 'request not found', 'h1');

  const missing = b.errors.filter((e) => /i18n: missing/.test(e));
  assert.deepEqual(missing, [], 'no missing translation was looked up');
  assert.deepEqual(problems, []);
});
