// Content-Security-Policy violation watcher for browser tests of every app
// (citizen PWA, /verify/, /staff/): collects `securitypolicyviolation` events
// of every document of a browser context (across navigations, via a binding)
// and the console's CSP messages ("Refused to ... Content Security Policy"),
// so a test can assert that a flow ran with zero violations.
//
//   const csp = await watchCSP(context);   // before the first page.goto
//   ... drive the app ...
//   csp.assertNone('queue view');           // throws listing every violation
//   csp.reset();                            // start counting afresh
import assert from 'node:assert/strict';

const CONSOLE_CSP = /Content Security Policy|Content-Security-Policy|Refused to (load|execute|apply|connect|frame|create)/i;

/**
 * watchCSP starts watching context (a playwright-core BrowserContext) and
 * returns {violations, assertNone(what), reset()}. Each violation is
 * {kind: 'event'|'console', url, directive, blocked, sample, text}.
 */
export async function watchCSP(context) {
  const violations = [];
  await context.exposeBinding('__civicdeskCSP', (source, v) => {
    violations.push({ kind: 'event', url: source.frame?.url?.() || v.documentURI, ...v });
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      // the binding may not be ready for the very first document: queue until it is
      const v = { documentURI: e.documentURI, directive: e.violatedDirective, effective: e.effectiveDirective, blocked: e.blockedURI, sample: e.sample, source: `${e.sourceFile}:${e.lineNumber}` };
      const send = () => (typeof window.__civicdeskCSP === 'function' ? window.__civicdeskCSP(v) : setTimeout(send, 20));
      send();
    });
  });
  const watchPage = (p) => p.on('console', (m) => {
    if (CONSOLE_CSP.test(m.text())) violations.push({ kind: 'console', url: p.url(), text: m.text() });
  });
  context.pages().forEach(watchPage);
  context.on('page', watchPage);
  return {
    violations,
    reset() { violations.length = 0; },
    /** assertNone fails with every violation seen since the last reset, naming the step. */
    assertNone(what = 'page') {
      assert.deepEqual(violations, [], `CSP violations during ${what}:\n${violations.map((v) => JSON.stringify(v)).join('\n')}`);
    },
  };
}
