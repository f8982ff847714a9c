// Receipts interoperability: an implementation that shares no code with the
// server (Node 20 WebCrypto + the cbor-x decoder + a Base45 decoder written
// here) verifies the receipts the real binary issues, reads its QR PNG with
// jsQR, and follows key rotation and revocation done with the CLI while the
// server runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { webcrypto as crypto } from 'node:crypto';
import { Decoder, Encoder } from 'cbor-x';
import { PNG } from 'pngjs';
import jsQR from 'jsqr';
import { startServer, login, api, binary } from './lib/server.js';

const B45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';

function b45decode(s) {
  assert.notEqual(s.length % 3, 1, 'base45 length');
  const out = [];
  for (let i = 0; i < s.length; i += 3) {
    const chunk = [...s.slice(i, i + 3)].map((c) => { const v = B45.indexOf(c); assert.ok(v >= 0, `base45 char ${c}`); return v; });
    const n = chunk.reduce((acc, v, j) => acc + v * 45 ** j, 0);
    if (chunk.length === 3) out.push(n >> 8, n & 0xff); else out.push(n);
  }
  return Uint8Array.from(out);
}

function b45encode(bytes) {
  let s = '';
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    const n = bytes[i] * 256 + bytes[i + 1];
    s += B45[n % 45] + B45[Math.floor(n / 45) % 45] + B45[Math.floor(n / 2025)];
  }
  if (bytes.length % 2) { const n = bytes[bytes.length - 1]; s += B45[n % 45] + B45[Math.floor(n / 45)]; }
  return s;
}

const cbor = new Decoder({ mapsAsObjects: false, useRecords: false });
const enc = new Encoder({ useRecords: false, mapsAsObjects: false });
const b64url = (b) => Buffer.from(b).toString('base64url');

/** verifyReceipt verifies a CR1 code against a JWKS: the steps of docs/receipts.md. */
async function verifyReceipt(code, jwks) {
  assert.ok(code.startsWith('CR1:'));
  const cose = cbor.decode(b45decode(code.slice(4)));
  assert.equal(cose.tag, 18, 'COSE_Sign1 tag');
  const [prot, unprot, payload, sig] = cose.value;
  const hdr = cbor.decode(prot);
  assert.ok(hdr instanceof Map);
  assert.equal(hdr.get(1), -7, 'alg ES256');
  assert.ok(unprot instanceof Map && unprot.size === 0, 'empty unprotected header');
  const kid = b64url(hdr.get(4));
  const jwk = jwks.keys.find((k) => k.kid === kid);
  if (!jwk) return { ok: false, why: 'unknown_key' };
  const key = await crypto.subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']);
  // kid = first 8 bytes of SHA-256 over the SPKI DER
  const spki = await crypto.subtle.exportKey('spki', key);
  assert.equal(b64url(new Uint8Array(await crypto.subtle.digest('SHA-256', spki)).slice(0, 8)), kid, 'kid derivation');
  // Buffers, not Uint8Arrays: cbor-x writes a plain Uint8Array with typed-array tag 64
  const tbs = enc.encode(['Signature1', Buffer.from(prot), Buffer.alloc(0), Buffer.from(payload)]);
  const ok = await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, sig, tbs);
  const cwt = cbor.decode(payload);
  return { ok, kid, jwk, cwt, receipt: cwt.get(-65537), cose: { prot, payload, sig } };
}

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.stop(); });

async function serviceId(code) {
  const r = await api(srv.url, 'GET', `/api/collections/services/records?filter=${encodeURIComponent(`code='${code}'`)}`);
  return r.body.items[0].id;
}

async function receiptsOf(token, requestId) {
  const r = await api(srv.url, 'GET', `/api/collections/receipts/records?sort=created&filter=${encodeURIComponent(`request='${requestId}'`)}`, { token });
  assert.equal(r.status, 200);
  return r.body.items;
}

test('receipts verify with WebCrypto + cbor-x, QR decodes with jsQR, CLI rotation and revocation reach the running server', async () => {
  const citizen = await login(srv.url, 'citizens', 'citizen@demo.civicdesk.example');
  const created = await api(srv.url, 'POST', '/api/collections/requests/records', {
    token: citizen.token,
    body: { service: await serviceId('residence_certificate'), citizen: citizen.record.id, answers: { purpose: 'bank', copies: 1, delivery: 'digital' } },
  });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const [received] = await receiptsOf(citizen.token, created.body.id);
  assert.equal(received.kind, 'received');

  const jwksRes = await fetch(`${srv.url}/.well-known/receipt-keys`);
  assert.equal(jwksRes.status, 200);
  assert.match(jwksRes.headers.get('cache-control'), /max-age=\d+/);
  const etag = jwksRes.headers.get('etag');
  assert.ok(etag);
  assert.equal((await fetch(`${srv.url}/.well-known/receipt-keys`, { headers: { 'if-none-match': etag } })).status, 304);
  const jwks = await jwksRes.json();

  const v = await verifyReceipt(received.code, jwks);
  assert.ok(v.ok, 'signature verifies');
  assert.equal(v.kid, received.kid);
  assert.equal(v.jwk.status, 'active');
  assert.equal(v.cwt.get(1), 'IT-GE');
  assert.equal(v.cwt.get(1), v.jwk.iss, 'iss equals the key\'s iss');
  assert.ok(Math.abs(v.cwt.get(6) - Date.now() / 1000) < 120, 'iat is now, in seconds');
  assert.equal(Buffer.from(v.cwt.get(7)).toString('hex'), received.cti);
  assert.deepEqual([...v.cwt.keys()], [1, 6, 7, -65537], 'deterministic claim order');
  assert.equal(v.receipt.get(1), 1);
  assert.equal(v.receipt.get(2), created.body.number);
  assert.equal(v.receipt.get(3), 'residence_certificate');
  assert.equal(v.receipt.get(4), 'received');
  assert.equal(v.receipt.get(8).length, 8, 'holder tag');
  assert.equal(v.receipt.has(5), false, 'no amount on a received receipt');
  const text = Buffer.from(b45decode(received.code.slice(4))).toString('latin1');
  for (const pii of [citizen.record.id, citizen.record.email, citizen.record.name]) {
    if (pii) assert.ok(!text.includes(pii), `no personal data (${pii}) in the code`);
  }

  // tampering: one bit of the payload, of the signature
  for (const part of ['payload', 'sig']) {
    const bytes = b45decode(received.code.slice(4));
    const field = v.cose[part];
    const off = Buffer.from(bytes).indexOf(Buffer.from(field)) + field.length - 1;
    bytes[off] ^= 0x01;
    const tampered = `CR1:${b45encode(bytes)}`;
    assert.equal((await verifyReceipt(tampered, jwks)).ok, false, `tampered ${part} fails in WebCrypto`);
    const server = await api(srv.url, 'POST', '/api/receipts/verify', { body: { code: tampered } });
    assert.equal(server.status, 200);
    assert.deepEqual([server.body.valid, server.body.reason], [false, 'bad_signature']);
  }

  // the QR PNG, decoded by jsQR, is the code byte for byte
  const png = await fetch(`${srv.url}/api/mobile/receipts/${received.id}/qr.png?ppm=4`, { headers: { authorization: citizen.token } });
  assert.equal(png.status, 200);
  assert.equal(png.headers.get('content-type'), 'image/png');
  const img = PNG.sync.read(Buffer.from(await png.arrayBuffer()));
  assert.equal(jsQR(new Uint8ClampedArray(img.data), img.width, img.height)?.data, received.code);
  assert.equal((await fetch(`${srv.url}/api/mobile/receipts/${received.id}/qr.png?ppm=1000`, { headers: { authorization: citizen.token } })).status, 400);
  assert.equal((await fetch(`${srv.url}/api/mobile/receipts/${received.id}/qr.png`)).status, 401);

  // staff record the payment: a payment receipt with amount, currency and reference
  const staff = await login(srv.url, 'staff', 'supervisor@demo.civicdesk.example');
  const paid = await api(srv.url, 'PATCH', `/api/collections/requests/records/${created.body.id}`, {
    token: staff.token, body: { paid_at: new Date().toISOString(), payment_ref: 'IUV-000111222333' },
  });
  assert.equal(paid.status, 200, JSON.stringify(paid.body));
  const payment = (await receiptsOf(citizen.token, created.body.id)).find((r) => r.kind === 'payment');
  assert.ok(payment, 'payment receipt issued');
  const pv = await verifyReceipt(payment.code, jwks);
  assert.ok(pv.ok);
  assert.deepEqual([pv.receipt.get(5), pv.receipt.get(6), pv.receipt.get(7)], [52, 'EUR', 'IUV-000111222333']);

  // CLI: rotate while the server runs; the old receipt keeps verifying with the retired key
  // flags first and positional arguments after --: a base64url kid may start with '-'
  const cli = (cmd, ...args) => execFileSync(binary(), ['receipts', cmd, '--dir', srv.dataDir, ...args], { env: srv.env, encoding: 'utf8' });
  assert.match(cli('rotate-key'), /New active key/);
  const jwks2 = await (await fetch(`${srv.url}/.well-known/receipt-keys`)).json();
  assert.equal(jwks2.keys.length, 2);
  assert.deepEqual(jwks2.keys.map((k) => k.status), ['retired', 'active']);
  assert.ok((await verifyReceipt(received.code, jwks2)).ok, 'old receipt verifies after rotation');
  let server = await api(srv.url, 'POST', '/api/receipts/verify', { body: { code: received.code } });
  assert.deepEqual([server.body.valid, server.body.claims.keyStatus], [true, 'retired']);

  // CLI: revoke one receipt
  cli('revoke', '--reason', 'recorded twice', '--', payment.id);
  server = await api(srv.url, 'POST', '/api/receipts/verify', { body: { code: payment.code } });
  assert.deepEqual([server.body.valid, server.body.reason], [false, 'revoked_receipt']);
  assert.match(server.body.message, /recorded twice/);

  // CLI: revoke the retired key: its receipts fail everywhere
  cli('revoke-key', '--', received.kid);
  const jwks3 = await (await fetch(`${srv.url}/.well-known/receipt-keys`)).json();
  assert.equal(jwks3.keys.find((k) => k.kid === received.kid).status, 'revoked');
  server = await api(srv.url, 'POST', '/api/receipts/verify', { body: { code: received.code } });
  assert.deepEqual([server.body.valid, server.body.reason], [false, 'revoked_key']);
});

test('verify answers valid:false with a reason for bad input, 4xx only for a missing or oversized body', async () => {
  const cases = [
    ['garbage', 'hello'],
    ['lowercase', 'cr1:abc'],
    ['truncated', 'CR1:6BF'],
    ['CBOR bomb', `CR1:${b45encode(Uint8Array.from([0xd2, ...Array(300).fill(0x81)]))}`],
    ['huge length', `CR1:${b45encode(Uint8Array.from([0xd2, 0x84, 0x5b, 255, 255, 255, 255, 255, 255, 255, 255]))}`],
  ];
  for (const [name, code] of cases) {
    const r = await api(srv.url, 'POST', '/api/receipts/verify', { body: { code } });
    assert.equal(r.status, 200, name);
    assert.deepEqual([r.body.valid, r.body.reason], [false, 'malformed'], name);
  }
  assert.equal((await api(srv.url, 'POST', '/api/receipts/verify', { body: {} })).status, 400);
  assert.equal((await api(srv.url, 'POST', '/api/receipts/verify', { body: { code: 'A'.repeat(10000) } })).status, 413);
});
