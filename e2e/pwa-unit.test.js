// Citizen PWA modules that need no browser: translations complete in five
// languages, the generated form's validation, catalogue search, client ids,
// the manifest and icons, and the service worker's precache being current.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { PNG } from 'pngjs';
import { repoRoot } from './lib/server.js';

const pub = join(repoRoot, 'pb_public');
const LANGS = ['it', 'en', 'sv', 'et', 'hu'];
const strings = {};
for (const l of LANGS) strings[l] = (await import(`../pb_public/app/lang/${l}.js`)).default;

// i18n.js sets <html lang>; form.js builds elements only when rendering
globalThis.document = { documentElement: {} };
const i18n = await import('../pb_public/app/i18n.js');
const { validateAnswers, toAnswers } = await import('../pb_public/app/form.js');
const { search, groups, normalize } = await import('../pb_public/app/catalog.js');
const { recordId, ulid } = await import('../pb_public/app/ids.js');
const demo = JSON.parse(readFileSync(join(repoRoot, 'demo', 'demo_city.json'), 'utf8'));
const service = (code) => demo.services.find((s) => s.code === code);

const placeholders = (s) => [...String(s).matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(',');

test('every language has every key, with the same placeholders', () => {
  const keys = Object.keys(strings.en).sort();
  for (const l of LANGS) {
    assert.deepEqual(Object.keys(strings[l]).sort(), keys, `${l}.js keys`);
    for (const k of keys) {
      const en = strings.en[k];
      const v = strings[l][k];
      assert.equal(typeof v, typeof en, `${l}.${k} type`);
      if (typeof en === 'object') {
        assert.ok(v.other, `${l}.${k} has an "other" plural form`);
        for (const f of Object.keys(v)) assert.equal(placeholders(v[f]).replace('n', ''), placeholders(en.other).replace('n', ''), `${l}.${k}.${f} placeholders`);
      } else {
        assert.equal(placeholders(v), placeholders(en), `${l}.${k} placeholders`);
        assert.ok(v.trim(), `${l}.${k} is not empty`);
      }
    }
  }
});

test('every literal t() key used by the app exists', () => {
  const walk = (d) => readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]));
  const used = new Set();
  for (const f of walk(join(pub, 'app')).filter((f) => f.endsWith('.js') && !f.includes('/lang/'))) {
    for (const m of readFileSync(f, 'utf8').matchAll(/\bt\('([a-zA-Z0-9_.]+)'/g)) used.add(m[1]);
  }
  for (const m of readFileSync(join(pub, 'index.html'), 'utf8').matchAll(/data-i18n="([^"]+)"/g)) used.add(m[1]);
  assert.ok(used.size > 100, `found ${used.size} keys`);
  const missing = [...used].filter((k) => !(k in strings.en));
  assert.deepEqual(missing, []);
});

test('form validation names the field in the shown language', async () => {
  const pothole = service('pothole').fields;
  const permit = service('parking_permit').fields;
  const waste = service('waste_pickup').fields;
  const cert = service('residence_certificate').fields;
  const cases = [
    { lang: 'en', fields: pothole, values: {}, want: ['Size: this is required.'] },
    { lang: 'it', fields: pothole, values: {}, want: ['Dimensione: campo obbligatorio.'] },
    { lang: 'en', fields: pothole, values: { size: 'large', depth_cm: '250' }, want: ['Estimated depth (cm): must be at most 200.'] },
    { lang: 'hu', fields: pothole, values: { size: 'large', depth_cm: 'deep' }, want: ['Becsült mélység (cm): adjon meg egy számot.'] },
    { lang: 'en', fields: pothole, values: { size: 'huge' }, want: ['Size: this is required.'] },
    { lang: 'en', fields: pothole, values: { size: 'small', depth_cm: '12,5', danger: 'true' }, want: [] },
    { lang: 'en', fields: permit, values: { plate: 'ab 12', zone: 'A', start_date: '2027-01-01T08:00' }, want: ['Number plate: the format is not valid.'] },
    { lang: 'sv', fields: permit, values: { plate: 'ABCDEFGHIJKL', zone: 'A', start_date: '2027-01-01T08:00' }, want: ['Registreringsnummer: högst 10 tecken.'] },
    { lang: 'en', fields: cert, values: { purpose: 'bank', copies: '2.5', delivery: 'desk' }, want: ['Number of copies: enter a whole number.'] },
    { lang: 'et', fields: cert, values: { purpose: 'bank', copies: '0', delivery: 'desk' }, want: ['Eksemplaride arv: peab olema vähemalt 1.'] },
    { lang: 'en', fields: service('streetlight').fields, values: { problem: 'off', pole_number: 'x'.repeat(21) }, want: ['Pole number (if visible): at most 20 characters.'] },
    { lang: 'en', fields: waste, values: { items: ['garden'], preferred_date: '2026-12-01T10:00', notes: 'n'.repeat(1001) }, want: ['Directions for the crew: at most 1000 characters.'] },
    { lang: 'en', fields: service('enquiry').fields, values: { topic: 't'.repeat(121), question: 'q'.repeat(4001) }, want: ['Topic: at most 120 characters.', 'Your question: at most 4000 characters.'] },
    { lang: 'en', fields: [{ code: 'x', datatype: 'string', label: { en: 'Free' } }, { code: 'y', datatype: 'text', label: { en: 'Long' } }], values: { x: 'x'.repeat(256), y: 'y'.repeat(5001) }, want: ['Free: at most 255 characters.', 'Long: at most 5000 characters.'] },
    { lang: 'en', fields: waste, values: { items: [], preferred_date: 'not a date' }, want: ['What should we collect: this is required.', 'Preferred date: enter a date and time.'] },
    { lang: 'en', fields: waste, values: { items: ['sofa'], preferred_date: '2026-12-01T10:00' }, want: ['What should we collect: this is required.'] },
  ];
  for (const c of cases) {
    await i18n.loadLang(c.lang);
    const got = validateAnswers(c.fields, c.values, c.lang).map((e) => e.message);
    assert.deepEqual(got, c.want, `${c.lang} ${JSON.stringify(c.values)}`);
  }
  await i18n.loadLang('en');
});

test('answers are sent typed', () => {
  const fields = [...service('pothole').fields, ...service('waste_pickup').fields];
  const got = toAnswers(fields, { size: 'large', danger: 'false', depth_cm: '12,5', items: ['garden', 'mattress'], preferred_date: '2026-12-01T10:00', notes: '' });
  assert.deepEqual(Object.keys(got).sort(), ['danger', 'depth_cm', 'items', 'preferred_date', 'size']);
  assert.equal(got.danger, false);
  assert.equal(got.depth_cm, 12.5);
  assert.deepEqual(got.items, ['garden', 'mattress']);
  assert.equal(got.preferred_date, new Date('2026-12-01T10:00').toISOString());
});

test('catalogue search is accent-insensitive over names and keywords; groups keep order', () => {
  const raw = { services: demo.services.map((s) => ({ ...s, name: s.name, group: s.group })) };
  const cat = normalize(raw, 'hu', false);
  assert.deepEqual(search(cat.services, 'katyu').map((s) => s.code), ['pothole']);
  assert.deepEqual(search(cat.services, 'IGAZOLAS').map((s) => s.code), ['residence_certificate']);
  assert.deepEqual(search(cat.services, 'grovsopor').map((s) => s.code), ['waste_pickup']);
  assert.equal(search(cat.services, 'zzz-nothing').length, 0);
  assert.equal(search(cat.services, '  ').length, cat.services.length);
  assert.deepEqual(groups(cat.services).map(([g]) => g).slice(0, 2), ['Utcák', 'Tiszta város']);
});

test('client ids follow the contract alphabets', () => {
  const ids = new Set();
  for (let i = 0; i < 2000; i++) {
    const id = recordId();
    assert.match(id, /^[a-z0-9]{15}$/);
    ids.add(id);
  }
  assert.equal(ids.size, 2000);
  assert.match(ulid(), /^[0-9A-HJKMNP-TV-Z]{26}$/);
  assert.ok(ulid(1000) < ulid(2000), 'ULIDs sort by time');
});

test('manifest is installable: name, short_name, same-origin start_url, standalone, PNG icons 192 and 512', () => {
  const m = JSON.parse(readFileSync(join(pub, 'manifest.webmanifest'), 'utf8'));
  assert.ok(m.name && m.short_name && m.short_name.length <= 12);
  assert.equal(new URL(m.start_url, 'https://city.example/').origin, 'https://city.example');
  assert.equal(m.display, 'standalone');
  for (const size of [192, 512]) {
    const icon = m.icons.find((i) => i.sizes === `${size}x${size}` && i.type === 'image/png');
    assert.ok(icon, `icon ${size}`);
    const png = PNG.sync.read(readFileSync(join(pub, icon.src)));
    assert.equal(png.width, size);
    assert.equal(png.height, size);
  }
});

test('the service worker precache list and version are current', () => {
  execFileSync(process.execPath, [join(repoRoot, 'scripts', 'pwa-precache.mjs'), '--check'], { stdio: 'pipe' });
});
