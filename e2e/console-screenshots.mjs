// Takes the screenshots of docs/staff-console.md from the seeded demo city:
//   cd e2e && CIVICDESK_BIN=$PWD/../bin/civicdesk node console-screenshots.mjs
import { startServer, api } from './lib/server.js';
import { launch, signIn, clerk, SUPERVISOR, CITIZEN, token, serviceId } from './lib/console.js';

const camt = (id, rmt, amount) => `<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>${id}</MsgId><CreDtTm>2026-12-01T18:00:00</CreDtTm></GrpHdr><Stmt><Id>${id}</Id><Acct><Id><IBAN>IT60X0542811101000000123456</IBAN></Id><Ccy>EUR</Ccy></Acct>
<Ntry><Amt Ccy="EUR">${amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-12-01</Dt></BookgDt><AcctSvcrRef>${id}-1</AcctSvcrRef>
<NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Maria Rossi</Nm></Dbtr></RltdPties><RmtInf>${rmt}</RmtInf></TxDtls></NtryDtls></Ntry></Stmt></BkToCstmrStmt></Document>`;

const out = new URL('../docs/img/', import.meta.url).pathname;
// the demo's weeks of history (the e2e server leaves them out by default)
const srv = await startServer({ env: { CIVICDESK_DEMO_HISTORY: 'on' } });
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

  // payments: a permit paid by a statement imported in the console, an exception
  const cit = await token(srv, 'citizens', CITIZEN);
  const me = JSON.parse(Buffer.from(cit.split('.')[1], 'base64url').toString()).id;
  const permit = (await api(srv.url, 'POST', '/api/collections/requests/records', {
    token: cit, body: { citizen: me, service: await serviceId(srv, 'parking_permit'), answers: { plate: 'AB123CD', zone: 'A', start_date: '2026-12-15T09:00:00Z' }, description: 'Residents permit, zone A' },
  })).body;
  const sup = await token(srv, 'staff', SUPERVISOR);
  const fee = (await api(srv.url, 'GET', `/api/collections/fees/records?filter=${encodeURIComponent(`request='${permit.id}'`)}`, { token: sup })).body.items[0];
  await page.evaluate(() => { location.hash = '#/payments/statements'; });
  await page.waitForSelector('#stmt-form');
  await page.setInputFiles('#stmt-file', { name: 'camt053-2026-12-01.xml', mimeType: 'application/xml', buffer: Buffer.from(camt('DOC-1', `<Strd><CdtrRefInf><Ref>${fee.reference}</Ref></CdtrRefInf></Strd>`, '40.00')) });
  await page.click('#stmt-submit');
  await page.waitForSelector('#stmt-result:not([hidden])');
  await page.screenshot({ path: `${out}staff-statements.png` });
  await page.setInputFiles('#stmt-file', { name: 'camt053-2026-12-02.xml', mimeType: 'application/xml', buffer: Buffer.from(camt('DOC-2', '<Ustrd>permit AB123CD</Ustrd>', '40.00')) });
  await page.click('#stmt-submit');
  await page.waitForSelector('#stmt-to-exceptions');
  await page.click('#stmt-to-exceptions');
  await page.click('#exc-rows button.exc-resolve');
  await page.waitForSelector('#exc-form');
  await page.screenshot({ path: `${out}staff-exceptions.png` });
  await page.evaluate((id) => { location.hash = `#/queue/open/${id}`; }, permit.id);
  await page.waitForSelector('#fee-ledger');
  await page.evaluate(() => document.getElementById('fee-panel').scrollIntoView());
  await page.screenshot({ path: `${out}staff-fee.png` });
  await page.evaluate(() => { location.hash = '#/consultations'; });
  await page.waitForSelector('#cons-rows tr a');
  await page.click('#cons-rows tr a');
  await page.waitForSelector('#cons-extend-form');
  await page.screenshot({ path: `${out}staff-consultation.png` });

  // published results: a consultation that closes at the next minute but one, one ballot, publication
  const utc = (ms) => new Date(Date.now() + ms).toISOString().slice(0, 16);
  const label = (en, it) => ({ en, it });
  const cons = (await api(srv.url, 'POST', '/api/collections/consultations/records', {
    token: sup,
    body: {
      code: 'BENCH-1', status: 'scheduled', time_zone: 'UTC', title: label('New benches in the park', 'Nuove panchine nel parco'),
      opens_local: utc(-60000), closes_local: utc((120 - new Date().getUTCSeconds()) * 1000),
      questions: [
        { id: 'colour', kind: 'single', title: label('Which colour?', 'Quale colore?'), options: [{ id: 'green', label: label('Green', 'Verde') }, { id: 'blue', label: label('Blue', 'Blu') }, { id: 'wood', label: label('Natural wood', 'Legno naturale') }] },
        { id: 'ideas', kind: 'text', title: label('Anything else?', 'Altro?') },
      ],
    },
  })).body;
  await api(srv.url, 'POST', '/api/mobile/sync/push', { token: cit, body: { clientID: 'screenshots', mutations: [{ id: 1, name: 'ballot.cast', args: { consultationId: cons.id, baseVersion: 0, answers: { colour: { options: ['wood'] }, ideas: { text: 'One near the fountain, please.' } } } }] } });
  for (let i = 0; i < 40 && (await api(srv.url, 'POST', `/api/consultations/${cons.id}/publish`, { token: sup })).status !== 200; i++) await new Promise((r) => setTimeout(r, 5000));
  await page.evaluate((id) => { location.hash = `#/consultations/${id}`; }, cons.id);
  await page.waitForSelector('#cons-results table');
  await page.evaluate(() => document.getElementById('cons-results').scrollIntoView());
  await page.screenshot({ path: `${out}staff-consultation-results.png` });
} finally {
  await b.close();
  await srv.stop();
}
