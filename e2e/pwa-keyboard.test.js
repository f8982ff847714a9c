// Citizen PWA with the keyboard only: the skip link comes first, every control
// of sign-up and of a service form is reachable with Tab in reading order, radio
// groups work with the arrow keys, and the request is filed without a pointer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.js';
import { launch, uniqueEmail, PASSWORD, waitFor } from './lib/pwa.js';

let srv;
let b;
before(async () => { srv = await startServer(); b = await launch(); });
after(async () => { await b?.close(); await srv?.stop(); });

const active = (page) => page.evaluate(() => {
  const el = document.activeElement;
  return el ? `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.name ? `[name=${el.name}]` : ''}${el.getAttribute('href') ? `[href=${el.getAttribute('href')}]` : ''}` : '';
});

/** tabTo presses Tab until the focused element matches want; returns the stops passed. */
async function tabTo(page, want, max = 40) {
  const stops = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const a = await active(page);
    stops.push(a);
    if (a.includes(want)) return stops;
  }
  throw new Error(`${want} not reachable with Tab; stops: ${stops.join(' → ')}`);
}

test('sign up and file a request with the keyboard only', async () => {
  const { page } = b;
  await page.goto(`${srv.url}/signup`);
  await page.waitForSelector('#name');
  await page.keyboard.press('Tab');
  assert.equal(await active(page), 'a[href=#main]', 'the skip link is the first stop');

  const order = await tabTo(page, 'button');
  const idx = (s) => order.findIndex((x) => x.includes(s));
  assert.ok(idx('#name') < idx('#email') && idx('#email') < idx('#password') && idx('#password') < idx('button'), `reading order: ${order.join(' → ')}`);
  await page.focus('#name');
  await page.keyboard.type('Keyboard Citizen');
  await page.keyboard.press('Tab');
  await page.keyboard.type(uniqueEmail('kbd'));
  await page.keyboard.press('Tab');
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/new$/);
  // focus moves to the new view's heading
  await page.waitForFunction(() => document.activeElement && document.activeElement.tagName === 'H1', null, { timeout: 5000 });

  await tabTo(page, '[href=/new/pothole]');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#request-form');
  await tabTo(page, '[name=f-size]');
  await page.keyboard.press('ArrowDown'); // arrow keys move through the radio group
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.evaluate(() => document.querySelector('input[name="f-size"]:checked')?.value), 'large');
  await tabTo(page, '#use-position');
  await page.keyboard.press('Enter');
  await waitFor(async () => /44\.40560/.test(await page.textContent('#position-status')), { what: 'position' });
  await tabTo(page, '#address');
  await page.keyboard.type('Corso Italia 10');
  const rest = await tabTo(page, 'button');
  assert.ok(rest.some((s) => s.includes('#photo-camera')) && rest.some((s) => s.includes('#photo-pick')), `photo inputs reachable: ${rest.join(' → ')}`);
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/requests\/[a-z0-9]{15}(\?sent=1)?$/); // the "sent" step
  await waitFor(async () => /^\d{4}-\d+$/.test((await page.textContent('#request-number')).trim()), { what: 'number' });
});
