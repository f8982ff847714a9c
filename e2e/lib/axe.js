// axe-core for browser tests of every app. It is evaluated through DevTools:
// the apps' CSP (script-src 'self') refuses an injected inline <script>, which
// is what playwright's addScriptTag writes.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** injectAxe makes window.axe available on page (once per document). */
export async function injectAxe(page) {
  if (!(await page.evaluate(() => !!window.axe))) await page.evaluate(AXE_SOURCE);
}
