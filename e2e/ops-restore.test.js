// The restore drill in the citizen PWA, through PocketBase's own restore API
// (research/operations.md §7.3): a request with a photo acknowledged after the
// backup reappears on the server after the restore — same id, same number, its
// photo — without the citizen doing anything (the app re-syncs when its
// realtime connection comes back). The server detected the restore (witness
// file, new epoch) and said so in its log. pwa-restore.test.js covers the case
// the server cannot detect (the phone notices its lastMutationID went back).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, binary, api } from './lib/server.js';
import { launch, signUp, filePothole, serverRequests, waitFor, syncText } from './lib/pwa.js';

let srv;
let b;
before(async () => { srv = await startServer(); b = await launch(); });
after(async () => { await b?.close(); await srv?.stop(); });

const numberOf = async (page) => waitFor(async () => {
  const n = (await page.textContent('#request-number')).trim();
  return /^\d{4}-\d+$/.test(n) ? n : null;
}, { what: 'number' });
const epoch = () => { try { return JSON.parse(readFileSync(join(srv.dataDir, '.civicdesk_witness.json'), 'utf8')).epoch; } catch { return ''; } };

async function superuser() {
  const email = 'ops-e2e@demo.civicdesk.example';
  const password = 'ops-e2e-restore-2026';
  execFileSync(binary(), ['superuser', 'upsert', email, password, '--dir', srv.dataDir], { env: srv.env, stdio: 'pipe' });
  const r = await api(srv.url, 'POST', '/api/collections/_superusers/auth-with-password', { body: { identity: email, password } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.token;
}

test('restore through the API: a request acknowledged after the backup comes back by itself', async () => {
  const { page } = b;
  const email = await signUp(page, srv.url);
  const a = await filePothole(page, { photos: 1, seed: 11, address: 'Before the backup' });
  await numberOf(page);
  await waitFor(async () => /All sent/.test(await syncText(page)), { what: '"All sent"' });

  const su = await superuser();
  const bk = await api(srv.url, 'POST', '/api/backups', { token: su, body: { name: 'ops_e2e.zip' } });
  assert.equal(bk.status, 204, JSON.stringify(bk.body));

  const lost = await filePothole(page, { photos: 1, seed: 12, address: 'After the backup' });
  const lostNumber = await numberOf(page);
  await waitFor(async () => {
    const l = await serverRequests(srv.url, email);
    return l.length === 2 && l.every((r) => r.photos.length === 1);
  }, { what: 'both requests with their photo on the server' });
  await waitFor(async () => /All sent/.test(await syncText(page)), { what: '"All sent"' });

  const before = epoch();
  const rs = await api(srv.url, 'POST', '/api/backups/ops_e2e.zip/restore', { token: su });
  assert.equal(rs.status, 204, JSON.stringify(rs.body));
  await waitFor(() => epoch() && epoch() !== before, { timeout: 60000, what: 'the server back in a new epoch' });

  // no click, no reload: the app notices by itself
  const reqs = await waitFor(async () => {
    const l = await serverRequests(srv.url, email);
    return l.length === 2 && l.every((r) => r.photos.length === 1) ? l : null;
  }, { timeout: 60000, what: 'the lost request and its photo back on the server' });
  assert.deepEqual(new Set(reqs.map((r) => r.id)), new Set([a, lost]));
  assert.equal(reqs.find((r) => r.id === lost).number, lostNumber, 'same number as on the receipt');
  assert.match(srv.logs(), /restore detected/);
  await waitFor(async () => /All sent/.test(await syncText(page)), { what: '"All sent"' });
});
