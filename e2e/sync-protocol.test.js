// Offline sync over HTTP against the real binary (CONTRACT §4.1, §4.2, §4.5):
// exactly-once push with replays, 409 on a gap, reset pull, paging, and the
// realtime poke on sync/{citizenId} through the PocketBase JS SDK (with
// another citizen's topic refused).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { EventSource } from 'eventsource';
import PocketBase from 'pocketbase';
import { startServer, login, api } from './lib/server.js';

globalThis.EventSource = EventSource;

let srv;
let maria;
let other;
before(async () => {
  srv = await startServer();
  maria = await login(srv.url, 'citizens', 'citizen@demo.civicdesk.example');
  const email = `other-${randomBytes(4).toString('hex')}@demo.civicdesk.example`;
  const pass = 'other-' + randomBytes(8).toString('hex');
  const r = await api(srv.url, 'POST', '/api/collections/citizens/records', { body: { email, password: pass, passwordConfirm: pass } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  other = await login(srv.url, 'citizens', email, pass);
});
after(async () => { await srv?.stop(); });

const recordId = () => Array.from(randomBytes(15), (b) => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]).join('');
const push = (who, clientID, mutations) => api(srv.url, 'POST', '/api/mobile/sync/push', { token: who.token, body: { clientID, mutations } });
const pull = (who, clientID, cursor, limit = 200) => api(srv.url, 'POST', '/api/mobile/sync/pull', { token: who.token, body: { clientID, cursor, limit } });
const create = (id, requestId) => ({ id, name: 'request.create', clientTime: new Date().toISOString(), args: { requestId, service: 'pothole', answers: { size: 'medium' }, location: { lat: 44.41, lon: 8.93 } } });

test('a replayed push is applied once and answered from the stored results', async () => {
  const clientID = 'e2e-replay-' + randomBytes(4).toString('hex');
  const rid = recordId();
  const batch = [create(1, rid), { id: 2, name: 'request.cancel', args: { requestId: rid } }, { id: 3, name: 'request.cancel', args: { requestId: 'aaaaaaaaaaaaaaa' } }];
  const first = await push(maria, clientID, batch);
  assert.equal(first.status, 200);
  assert.deepEqual(first.body.results.map((r) => r.status), ['applied', 'applied', 'rejected']);
  assert.equal(first.body.results[2].error.code, 'not_found');
  for (let i = 0; i < 3; i++) {
    const again = await push(maria, clientID, batch);
    assert.equal(again.status, 200);
    assert.equal(again.body.lastMutationID, 3);
    assert.deepEqual(again.body.results.map((r) => r.status), ['duplicate', 'duplicate', 'duplicate']);
    assert.equal(again.body.results[2].error.code, 'not_found', 'a duplicate carries the stored error');
  }
  const p = await pull(maria, clientID, null);
  assert.equal(p.status, 200);
  assert.equal(p.body.reset, true);
  assert.equal(p.body.lastMutationID, 3);
  const mine = p.body.changes.filter((c) => c.collection === 'requests' && c.id === rid);
  assert.equal(mine.length, 1);
  assert.equal(mine[0].data.status, 'cancelled');
  assert.match(mine[0].data.number, /^\d{4}-\d+$/);
});

test('a gap answers 409 with the lastMutationID', async () => {
  const clientID = 'e2e-gap-' + randomBytes(4).toString('hex');
  const r = await push(maria, clientID, [create(1, recordId()), create(3, recordId())]);
  assert.equal(r.status, 409);
  assert.equal(r.body.status, 409);
  assert.equal(r.body.data.code, 'mutation_gap');
  assert.equal(r.body.data.lastMutationID, 1);
  assert.ok(r.body.message);
});

test('pull pages with limit and the cursor continues where it stopped', async () => {
  const clientID = 'e2e-pager-' + randomBytes(4).toString('hex');
  const writer = 'e2e-writer-' + randomBytes(4).toString('hex');
  const first = await pull(maria, clientID, null, 3);
  let cursor = first.body.cursor;
  for (let more = first.body.hasMore; more;) {
    const p = await pull(maria, clientID, cursor, 3);
    cursor = p.body.cursor;
    more = p.body.hasMore;
  }
  const ids = Array.from({ length: 10 }, recordId);
  assert.equal((await push(maria, writer, ids.map((id, i) => create(i + 1, id)))).status, 200);
  const seen = new Set();
  for (;;) {
    const p = await pull(maria, clientID, cursor, 3);
    assert.ok(p.body.changes.length <= 3);
    for (const c of p.body.changes) if (c.collection === 'requests') seen.add(c.id);
    cursor = p.body.cursor;
    if (!p.body.hasMore) break;
  }
  for (const id of ids) assert.ok(seen.has(id), 'missing ' + id);
});

test('the realtime poke says "pull now", only to the owner', async () => {
  const pb = new PocketBase(srv.url);
  pb.authStore.save(maria.token, maria.record);
  const pokes = [];
  const unsubscribe = await pb.realtime.subscribe('sync/' + maria.record.id, (msg) => pokes.push(msg));
  try {
    const clientID = 'e2e-poke-' + randomBytes(4).toString('hex');
    assert.equal((await push(maria, clientID, [create(1, recordId())])).status, 200);
    const deadline = Date.now() + 5000;
    while (pokes.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(pokes.length > 0, 'no poke');
    assert.equal(pokes[0].action, 'pull');
  } finally {
    await unsubscribe();
    pb.realtime.unsubscribe();
  }

  const intruder = new PocketBase(srv.url);
  intruder.authStore.save(other.token, other.record);
  await assert.rejects(intruder.realtime.subscribe('sync/' + maria.record.id, () => {}), (err) => {
    assert.equal(err.status, 403);
    return true;
  });
  intruder.realtime.unsubscribe();
});

test("another citizen's clientID is refused", async () => {
  const clientID = 'e2e-owned-' + randomBytes(4).toString('hex');
  assert.equal((await push(maria, clientID, [create(1, recordId())])).status, 200);
  assert.equal((await push(other, clientID, [create(2, recordId())])).status, 403);
  assert.equal((await pull(other, clientID, null)).status, 403);
});
