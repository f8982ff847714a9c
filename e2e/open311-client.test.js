// Open311 against the real binary, with a stock client: the npm `open311`
// package (codeforamerica/node-open311, the only Open311 client on the npm
// registry; unmaintained since 2013, see docs/open311.md) discovers the
// endpoint, lists services, reads a definition, files a request with the key
// `civicdesk demo` prints, and reads it back. The request then shows in the
// citizen's timeline and in the clerk's queue through the records API. Then
// FixMyStreet's wire behaviour (research civic.md §1.11, §2): its
// servicerequestupdates POST in XML, retried with the same update_id, and its
// GET of the city's updates after a clerk acts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import Open311 from 'open311';
import { startServer, login, api, binary } from './lib/server.js';

const JURISDICTION = 'genova.demo.civicdesk.example';
let srv;
let apiKey;
let superuser;

const promisify = (fn) => new Promise((res, rej) => fn((err, data) => (err ? rej(new Error(`${err}: ${data}`)) : res(data))));

before(async () => {
  srv = await startServer();
  // `civicdesk demo` is idempotent and prints the demo city's Open311 key
  const out = execFileSync(binary(), ['demo', '--dir', srv.dataDir], { env: srv.env, encoding: 'utf8' });
  const m = out.match(/api_clients\s+Demo Open311 client\s+(\S+)/);
  assert.ok(m, `demo output names an Open311 key:\n${out}`);
  apiKey = m[1];
  execFileSync(binary(), ['superuser', 'upsert', 'root@e2e.civicdesk.example', 'root-password-e2e-1', '--dir', srv.dataDir], { env: srv.env });
  superuser = (await login(srv.url, '_superusers', 'root@e2e.civicdesk.example', 'root-password-e2e-1')).token;
});

after(async () => { await srv?.stop(); });

/** staffToken impersonates a staff member as the superuser (independent of the staff sign-in factors). */
async function staffToken(email) {
  const list = await api(srv.url, 'GET', `/api/collections/staff/records?filter=${encodeURIComponent(`email='${email}'`)}`, { token: superuser });
  assert.equal(list.status, 200, JSON.stringify(list.body));
  const r = await api(srv.url, 'POST', `/api/collections/staff/impersonate/${list.body.items[0].id}`, { token: superuser, body: { duration: 600 } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.token;
}

/** form posts a form-urlencoded body as FixMyStreet does and returns {status, text}. */
async function postForm(path, fields) {
  const r = await fetch(`${srv.url}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
}

const tag = (xml, name) => [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, 'g'))].map((m) => m[1]);

test('a stock Open311 client files a request that reaches the citizen and the clerk', async () => {
  const client = new Open311({ discovery: `${srv.url}/open311/v2/discovery.json`, jurisdiction: JURISDICTION, apiKey, format: 'json' });
  const disc = await promisify((cb) => client.serviceDiscovery({ cache: true }, cb));
  assert.equal(disc.endpoints[0].specification, 'http://wiki.open311.org/GeoReport_v2');
  assert.equal(client.endpoint, `${srv.url}/open311/v2/`, 'the client takes the endpoint from discovery');

  const services = await promisify((cb) => client.serviceList(cb));
  assert.ok(Array.isArray(services) && services.length >= 8);
  const pothole = services.find((s) => s.service_code === 'pothole');
  assert.equal(pothole.type, 'realtime');
  assert.equal(pothole.metadata, true);

  const def = await promisify((cb) => client.serviceDefinition('pothole', cb));
  const size = def.attributes.find((a) => a.code === 'size');
  assert.equal(size.datatype, 'singlevaluelist');
  assert.ok(size.values.some((v) => v.key === 'large'));
  const danger = def.attributes.find((a) => a.code === 'danger');
  assert.deepEqual(danger.values.map((v) => v.key), ['true', 'false'], 'boolean as a true/false list');

  const created = await promisify((cb) => client.submitRequest({
    service_code: 'pothole', lat: 44.4071, long: 8.9339, description: 'Deep pothole by the bus stop',
    email: 'citizen@demo.civicdesk.example', first_name: 'Maria', last_name: 'Rossi', phone: '+39 010 555 0100',
    attributes: { size: 'large', danger: 'true' },
  }, cb));
  assert.equal(created.length, 1);
  const number = created[0].service_request_id;
  assert.match(number, /^\d{4}-\d{6}$/);
  assert.ok(!('token' in created[0]), 'realtime: an id, never a token');

  const got = await promisify((cb) => client.serviceRequests(number, cb));
  assert.equal(got[0].service_request_id, number);
  assert.equal(got[0].status, 'open');
  assert.equal(got[0].service_code, 'pothole');
  assert.ok(!JSON.stringify(got).includes('citizen@demo'), 'no contact field is listed');
  assert.ok(!JSON.stringify(got).includes('555 0100'));

  // the citizen (same e-mail, verified) sees it in their timeline, with its receipt
  const citizen = await login(srv.url, 'citizens', 'citizen@demo.civicdesk.example');
  const mine = await api(srv.url, 'GET', `/api/collections/requests/records?filter=${encodeURIComponent(`number='${number}'`)}`, { token: citizen.token });
  assert.equal(mine.status, 200);
  assert.equal(mine.body.items.length, 1, 'in the citizen\'s requests');
  assert.equal(mine.body.items[0].source, 'open311');
  const receipts = await api(srv.url, 'GET', `/api/collections/receipts/records?filter=${encodeURIComponent(`request='${mine.body.items[0].id}'`)}`, { token: citizen.token });
  assert.equal(receipts.body.items[0]?.kind, 'received');

  // the roads clerk sees it in their queue; contact fields stay hidden from the records API
  const clerk = await staffToken('clerk.roads@demo.civicdesk.example');
  const queue = await api(srv.url, 'GET', `/api/collections/requests/records?filter=${encodeURIComponent("status='received'")}&sort=-created&skipTotal=1`, { token: clerk });
  assert.equal(queue.status, 200);
  const item = queue.body.items.find((r) => r.number === number);
  assert.ok(item, 'in the clerk\'s queue');
  assert.equal(item.contact_email, undefined);
  assert.equal(item.contact_phone, undefined);

  // a clerk of another department does not
  const other = await staffToken('clerk.registry@demo.civicdesk.example');
  const notMine = await api(srv.url, 'GET', `/api/collections/requests/records?filter=${encodeURIComponent(`number='${number}'`)}`, { token: other });
  assert.equal(notMine.body.items.length, 0);
});

test('FixMyStreet posts updates (idempotent by update_id) and fetches the city\'s', async () => {
  const created = await postForm('/open311/v2/requests.xml', {
    jurisdiction_id: JURISDICTION, api_key: apiKey, service_code: 'streetlight', lat: '44.41', long: '8.93',
    'attribute[problem]': 'off', description: 'Lamp out since Monday', email: 'fms.user@example.net', first_name: 'Fred', last_name: 'Smith',
  });
  assert.equal(created.status, 200, created.text);
  assert.equal(created.type, 'text/xml; charset=utf-8');
  assert.match(created.text, /^<\?xml version="1.0" encoding="UTF-8"\?>/);
  const number = tag(created.text, 'service_request_id')[0];

  // FixMyStreet's POST Service Request Update (Open311.pm post_service_request_update)
  const update = {
    jurisdiction_id: JURISDICTION, api_key: apiKey, update_id: '4711', service_request_id: number,
    status: 'OPEN', updated_datetime: new Date().toISOString().replace(/\.\d+Z$/, '+00:00'),
    description: 'Still dark tonight', email: 'fms.user@example.net', first_name: 'Fred', last_name: 'Smith',
    service_request_id_ext: '998877', public_anonymity_required: 'FALSE', email_alerts_requested: 'FALSE',
  };
  const first = await postForm('/open311/v2/servicerequestupdates.xml', update);
  assert.equal(first.status, 200, first.text);
  const updateID = tag(first.text, 'update_id')[0];
  assert.ok(updateID);
  const again = await postForm('/open311/v2/servicerequestupdates.xml', update); // FMS retries after a timeout
  assert.equal(again.status, 200);
  assert.equal(again.text, first.text, 'the same update_id answers the first answer');

  // the clerk acts through the records API
  const clerk = await staffToken('clerk.roads@demo.civicdesk.example');
  const rec = (await api(srv.url, 'GET', `/api/collections/requests/records?filter=${encodeURIComponent(`number='${number}'`)}`, { token: clerk })).body.items[0];
  const events = await api(srv.url, 'GET', `/api/collections/request_events/records?filter=${encodeURIComponent(`request='${rec.id}' && author_type='open311' && type='comment'`)}`, { token: clerk });
  assert.equal(events.body.items.length, 1, 'one event for two identical POSTs');
  assert.match(events.body.items[0].message, /Still dark tonight/);
  const patched = await api(srv.url, 'PATCH', `/api/collections/requests/records/${rec.id}`, { token: clerk, body: { status: 'in_progress', status_note: 'Electrician booked' } });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));

  // FixMyStreet's GET Service Request Updates (fetch-comments), in XML
  const start = new Date(Date.now() - 3600e3).toISOString();
  const end = new Date(Date.now() + 60e3).toISOString();
  const r = await fetch(`${srv.url}/open311/v2/servicerequestupdates.xml?jurisdiction_id=${JURISDICTION}&api_key=${apiKey}&start_date=${start}&end_date=${end}`);
  const xml = await r.text();
  assert.equal(r.status, 200, xml);
  assert.match(xml, /<service_request_updates><request_update>/);
  const ids = tag(xml, 'service_request_id');
  const statuses = tag(xml, 'status');
  const i = ids.findIndex((id, k) => id === number && statuses[k] === 'in_progress');
  assert.ok(i >= 0, `the clerk's status change is listed for ${number}:\n${xml}`);
  assert.equal(tag(xml, 'description')[i], 'Electrician booked');
  assert.ok(!xml.includes('fms.user@example.net'));
  for (const d of tag(xml, 'updated_datetime')) assert.match(d, /[+-]\d\d:\d\d$/, 'datetimes carry an offset');

  // the GET requests list shows the new state with the extensions FixMyStreet reads
  const list = await (await fetch(`${srv.url}/open311/v2/requests.json?service_request_id=${number}&extensions=true`)).json();
  assert.equal(list[0].status, 'open');
  assert.equal(list[0].extended_attributes.external_status_code, 'in_progress');
  assert.ok(list[0].notes.some((n) => n.description === 'Electrician booked'));
});

test('unknown paths under /open311/ answer the spec\'s 404, never the citizen app', async () => {
  for (const [path, type] of [['/open311/v2/nothing.json', 'application/json'], ['/open311/v2/nothing', 'text/xml'], ['/open311/index.html', 'text/xml']]) {
    const r = await fetch(srv.url + path);
    const body = await r.text();
    assert.ok([400, 404].includes(r.status), `${path}: ${r.status}`);
    assert.ok(r.headers.get('content-type').startsWith(type), `${path}: ${r.headers.get('content-type')}`);
    assert.ok(!body.includes('<html'), `${path} served HTML`);
    assert.match(body, /errors|code/);
  }
});
