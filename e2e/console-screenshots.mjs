// Takes the screenshots of docs/staff-console.md from the seeded demo city:
//   cd e2e && CIVICDESK_BIN=$PWD/../bin/civicdesk node console-screenshots.mjs
import { startServer } from './lib/server.js';
import { launch, signIn, clerk, SUPERVISOR } from './lib/console.js';

const out = new URL('../docs/img/', import.meta.url).pathname;
const srv = await startServer();
const b = await launch({ viewport: { width: 1280, height: 760 } });
try {
  const { page } = b;
  await page.goto(`${srv.url}/staff/`);
  await page.waitForSelector('#signin-form');
  await page.selectOption('#lang-select', 'en');
  await page.waitForSelector('#signin-form');
  await page.screenshot({ path: `${out}staff-signin.png` });
  await signIn(page, srv, clerk('roads'));
  await page.click('#tab-open');
  await page.waitForSelector('#queue-rows tr');
  await page.click('#queue-rows a.num');
  await page.waitForSelector('#actions');
  await page.waitForTimeout(500);
  await page.screenshot({ path: `${out}staff-queue-file.png` });
  await page.evaluate(() => document.getElementById('actions').scrollIntoView());
  await page.screenshot({ path: `${out}staff-actions.png` });
  await page.evaluate(() => { location.hash = '#/desk/file'; });
  await page.waitForSelector('#desk-form');
  await page.selectOption('#desk-service', { label: 'Pothole' });
  await page.screenshot({ path: `${out}staff-desk.png` });
  await page.click('#sign-out');
  await signIn(page, srv, SUPERVISOR);
  await page.evaluate(() => { location.hash = '#/stats'; });
  await page.waitForSelector('#fig-flow_weekly table');
  await page.evaluate(() => document.getElementById('fig-flow_weekly').scrollIntoView());
  await page.screenshot({ path: `${out}staff-figures.png` });
} finally {
  await b.close();
  await srv.stop();
}
