// Photos over tus 1.0 with tus-js-client 4.3.1 against the real binary
// (CONTRACT §4.3): a connection killed mid-upload resumes from the stored
// offset, and so does an upload across a server crash (SIGKILL + restart); a
// repeated creation returns the same upload; a wrong sha256, a non-image and
// a decompression bomb are refused with nothing attached (the bomb before
// decoding, RSS stays low); EXIF (GPS) never reaches storage.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, connect } from 'node:net';
import { readFileSync, readdirSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { join } from 'node:path';
import tus from 'tus-js-client';
import { PNG } from 'pngjs';
import { startServer, login, api } from './lib/server.js';

let srv;
let token;
let citizenId;
before(async () => {
  srv = await startServer();
  const auth = await login(srv.url, 'citizens', 'citizen@demo.civicdesk.example');
  token = auth.token;
  citizenId = auth.record.id;
});
after(async () => { await srv?.stop(); });

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');
const recordId = () => Array.from(randomBytes(15), (b) => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]).join('');
const attachmentId = () => '01JD' + randomBytes(10).toString('hex').toUpperCase();

// a 24x16 JPEG made by Go's image/jpeg
const JPEG = Buffer.from('/9j/2wCEAAYEBQYFBAYGBQYHBwYIChAKCgkJChQODwwQFxQYGBcUFhYaHSUfGhsjHBYWICwgIyYnKSopGR8tMC0oMCUoKSgBBwcHCggKEwoKEygaFhooKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKP/AABEIABAAGAMBIgACEQEDEQH/xAGiAAABBQEBAQEBAQAAAAAAAAAAAQIDBAUGBwgJCgsQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYXGBkaJSYnKCkqNDU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+gEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoLEQACAQIEBAMEBwUEBAABAncAAQIDEQQFITEGEkFRB2FxEyIygQgUQpGhscEJIzNS8BVictEKFiQ04SXxFxgZGiYnKCkqNTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqCg4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2dri4+Tl5ufo6ery8/T19vf4+fr/2gAMAwEAAhEDEQA/APHrHw/0+St+x8P9Pk/Su/sfD/T5K6Cx8P8AT5P0rsxOdeZ5OS8Q7anAWXh/p8n6Ve/4R/8A2P0r1Cx8P9Pk/Sr3/CP/AOx+leJUzr3tz9PwfEP7tan/2Q==', 'base64');

/** withExifGPS inserts an APP1 EXIF segment with a GPS IFD right after the SOI. */
function withExifGPS(jpeg) {
  const tiff = Buffer.alloc(8 + 2 + 12 + 4 + 2 + 12 + 4 + 16);
  tiff.write('II*\0', 0, 'latin1');
  tiff.writeUInt32LE(8, 4);
  tiff.writeUInt16LE(1, 8); // IFD0: one entry, the GPS IFD pointer
  tiff.writeUInt16LE(0x8825, 10); tiff.writeUInt16LE(4, 12); tiff.writeUInt32LE(1, 14); tiff.writeUInt32LE(26, 18);
  tiff.writeUInt32LE(0, 22);
  tiff.writeUInt16LE(1, 26); // GPS IFD: GPSAreaInformation (undefined, 16 bytes)
  tiff.writeUInt16LE(0x001C, 28); tiff.writeUInt16LE(7, 30); tiff.writeUInt32LE(16, 32); tiff.writeUInt32LE(44, 36);
  tiff.writeUInt32LE(0, 40);
  tiff.write('GPS44.4056N8.94E', 44, 'latin1');
  const payload = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const seg = Buffer.alloc(4);
  seg.writeUInt16BE(0xFFE1, 0);
  seg.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), seg, payload, jpeg.subarray(2)]);
}

/** noisePNG is a w×h PNG of random pixels (incompressible: a few MB). */
function noisePNG(w, h) {
  const png = new PNG({ width: w, height: h });
  randomBytes(w * h * 4).copy(png.data);
  for (let i = 3; i < png.data.length; i += 4) png.data[i] = 255;
  return PNG.sync.write(png);
}

function crc32(buf) {
  let c = ~0;
  for (const b of buf) { c ^= b; for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xEDB88320 & -(c & 1)); }
  return (~c) >>> 0;
}

/** bombPNG is a small valid PNG whose header claims w×h pixels. */
function bombPNG(w, h) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 6;
  // one compressed row of zeros: a few hundred bytes that would inflate to 1.6 GB
  const idat = deflateSync(Buffer.alloc(64 << 10));
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

/** upload sends buf with tus-js-client; resolves {url, requests} or rejects with the error. */
function upload(buf, { id = attachmentId(), requestId, sum = sha256(buf), endpoint = srv.url, chunkSize = 256 << 10, retryDelays = [0, 200, 500], uploadUrl = null } = {}) {
  const requests = [];
  return new Promise((resolve, reject) => {
    const metadata = { attachmentId: id, sha256: sum, filetype: 'image/jpeg' };
    if (requestId) metadata.requestId = requestId;
    const u = new tus.Upload(buf, {
      endpoint: endpoint + '/api/mobile/uploads/',
      chunkSize, retryDelays, metadata, uploadUrl,
      headers: { Authorization: token },
      fingerprint: async () => 'att-' + id,
      storeFingerprintForResuming: false,
      onBeforeRequest: (req) => { requests.push({ method: req.getMethod(), offset: req.getHeader('Upload-Offset') }); },
      onSuccess: () => resolve({ url: u.url, id, requests }),
      onError: (err) => { err.requests = requests; reject(err); },
    });
    u.start();
  });
}

async function push(clientID, mutations) {
  const r = await api(srv.url, 'POST', '/api/mobile/sync/push', { token, body: { clientID, mutations } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

async function pullRequest(requestId) {
  let cursor = null;
  let found;
  for (;;) {
    const r = await api(srv.url, 'POST', '/api/mobile/sync/pull', { token, body: { clientID: 'e2e-reader', cursor, limit: 200 } });
    assert.equal(r.status, 200);
    for (const c of r.body.changes) if (c.collection === 'requests' && c.id === requestId) found = c.data;
    cursor = r.body.cursor;
    if (!r.body.hasMore) return found;
  }
}

let clientSeq = 0;
async function createRequest(attachments = []) {
  const requestId = recordId();
  const res = await push('e2e-uploads-' + (++clientSeq) + '-' + randomBytes(4).toString('hex'), [{
    id: 1, name: 'request.create', clientTime: new Date().toISOString(),
    args: { requestId, service: 'pothole', answers: { size: 'small' }, location: { lat: 44.4, lon: 8.9 }, attachments },
  }]);
  assert.equal(res.results[0].status, 'applied', JSON.stringify(res.results[0]));
  return requestId;
}

/** killingProxy forwards to the server but cuts the first PATCH after `after` bytes. */
function killingProxy(after) {
  let killed = 0;
  const server = createServer((c) => {
    const u = connect(srv.port, '127.0.0.1');
    let sent = 0;
    let isPatch = false;
    c.on('data', (d) => {
      // count the bytes of PATCH requests only (the connection may carry the POST first)
      let counted = d.length;
      if (!isPatch && d.includes('PATCH /api/mobile/uploads/')) { isPatch = true; counted = d.length - d.indexOf('PATCH '); }
      if (isPatch) sent += counted;
      if (isPatch && killed === 0 && sent > after) {
        killed++;
        u.write(d.subarray(0, d.length - (sent - after)));
        c.destroy(); u.destroy();
        return;
      }
      u.write(d);
    });
    u.on('data', (d) => c.write(d));
    c.on('error', () => u.destroy());
    u.on('error', () => c.destroy());
    c.on('close', () => u.destroy());
    u.on('close', () => c.destroy());
  });
  return new Promise((res) => server.listen(0, '127.0.0.1', () => res({
    url: 'http://127.0.0.1:' + server.address().port, killed: () => killed, close: () => server.close(),
  })));
}

function photosOnDisk(requestId) {
  const base = join(srv.dataDir, 'storage');
  for (const col of readdirSync(base)) {
    try { return readdirSync(join(base, col, requestId)).filter((f) => !f.startsWith('thumbs_') && !f.endsWith('.attrs')).map((f) => readFileSync(join(base, col, requestId, f))); } catch { /* not this collection */ }
  }
  return [];
}

test('a connection killed mid-upload resumes from the stored offset', async () => {
  const photo = noisePNG(700, 700);
  assert.ok(photo.length > 1_500_000, 'photo is ' + photo.length);
  const requestId = await createRequest();
  const proxy = await killingProxy(900_000);
  try {
    const res = await upload(photo, { requestId, endpoint: proxy.url, chunkSize: 512 << 10 });
    assert.equal(proxy.killed(), 1, 'the proxy cut a PATCH');
    const heads = res.requests.filter((r) => r.method === 'HEAD');
    const patches = res.requests.filter((r) => r.method === 'PATCH').map((r) => Number(r.offset));
    assert.ok(heads.length >= 1, 'the client asked the server for its offset');
    // after the cut the client continued from what the server had stored, not from a chunk boundary or 0
    const resumed = patches.find((o) => o > 0 && o % (512 << 10) !== 0);
    assert.ok(resumed > 512 << 10, 'resumed at ' + resumed + ' (patch offsets ' + patches + ')');
  } finally {
    proxy.close();
  }
  const data = await pullRequest(requestId);
  assert.equal(data.photos.length, 1);
  assert.equal(data.attachments[0].status, 'attached');
});

test('a repeated creation returns the same upload', async () => {
  const photo = withExifGPS(JPEG);
  const id = attachmentId();
  const meta = 'attachmentId ' + Buffer.from(id).toString('base64') + ',sha256 ' + Buffer.from(sha256(photo)).toString('base64');
  const create = () => fetch(srv.url + '/api/mobile/uploads/', { method: 'POST', headers: { Authorization: token, 'Tus-Resumable': '1.0.0', 'Upload-Length': String(photo.length), 'Upload-Metadata': meta } });
  const a = await create();
  const b = await create();
  assert.equal(a.status, 201);
  assert.equal(b.status, 201);
  assert.equal(a.headers.get('location'), b.headers.get('location'));
  assert.match(a.headers.get('location'), new RegExp('/api/mobile/uploads/' + id + '$'));
  // tus-js-client with the same attachment id finishes that same upload
  const requestId = await createRequest([id]);
  const res = await upload(photo, { id });
  assert.equal(res.url, a.headers.get('location'));
  const data = await pullRequest(requestId);
  assert.equal(data.photos.length, 1);
});

test('a JPEG with EXIF GPS is stored without any metadata', async () => {
  const photo = withExifGPS(JPEG);
  assert.ok(photo.includes(Buffer.from('GPS44.4056N')));
  const requestId = await createRequest();
  await upload(photo, { requestId });
  const stored = photosOnDisk(requestId);
  assert.equal(stored.length, 1);
  assert.equal(stored[0].subarray(0, 2).toString('hex'), 'ffd8', 'still a JPEG');
  assert.ok(!stored[0].includes(Buffer.from('Exif')), 'no EXIF segment');
  assert.ok(!stored[0].includes(Buffer.from('GPS44.4056N')), 'no GPS data');
});

function serverRSS() {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync('/proc/' + pid + '/cmdline', 'latin1');
      if (cmd.includes('serve') && cmd.includes('127.0.0.1:' + srv.port)) {
        const status = readFileSync('/proc/' + pid + '/status', 'latin1');
        return { rss: Number(/VmRSS:\s+(\d+)/.exec(status)[1]) * 1024, hwm: Number(/VmHWM:\s+(\d+)/.exec(status)[1]) * 1024 };
      }
    } catch { /* process gone */ }
  }
  throw new Error('server process not found');
}

for (const [name, make, code] of [
  ['a wrong sha256', () => ({ buf: withExifGPS(JPEG), sum: sha256(Buffer.from('another file')) }), 'checksum_mismatch'],
  ['a non-image renamed .jpg', () => ({ buf: Buffer.from('%PDF-1.4 definitely not a photo.jpg '.repeat(20)) }), 'not_an_image'],
  ['a decompression bomb (20000x20000 PNG)', () => ({ buf: bombPNG(20000, 20000) }), 'too_many_pixels'],
]) {
  test(name + ' is rejected and nothing is attached', async () => {
    const { buf, sum } = make();
    const requestId = await createRequest();
    const before = serverRSS();
    await assert.rejects(upload(buf, { requestId, sum, retryDelays: [] }), (err) => {
      assert.equal(err.originalResponse?.getStatus(), 422, String(err));
      assert.match(err.originalResponse.getBody(), new RegExp(code));
      return true;
    });
    const afterRSS = serverRSS();
    // decoding the bomb would need 1.6 GB; the header check refuses it first
    assert.ok(afterRSS.hwm - before.hwm < 64 << 20, 'peak RSS grew by ' + (afterRSS.hwm - before.hwm));
    const data = await pullRequest(requestId);
    assert.equal(data.photos.length, 0);
    assert.equal(photosOnDisk(requestId).length, 0);
  });
}

test('offsets survive a server crash: the upload resumes after SIGKILL and restart', async () => {
  const photo = noisePNG(400, 400);
  const id = attachmentId();
  const requestId = await createRequest();
  const meta = `attachmentId ${Buffer.from(id).toString('base64')},sha256 ${Buffer.from(sha256(photo)).toString('base64')},requestId ${Buffer.from(requestId).toString('base64')}`;
  const headers = { Authorization: token, 'Tus-Resumable': '1.0.0' };
  const created = await fetch(srv.url + '/api/mobile/uploads/', { method: 'POST', headers: { ...headers, 'Upload-Length': String(photo.length), 'Upload-Metadata': meta } });
  assert.equal(created.status, 201);
  const location = created.headers.get('location');
  const half = Math.floor(photo.length / 2);
  const first = await fetch(location, { method: 'PATCH', headers: { ...headers, 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' }, body: photo.subarray(0, half) });
  assert.equal(first.status, 204);

  await srv.restart(); // SIGKILL, then serve again on the same data dir

  const head = await fetch(location, { method: 'HEAD', headers });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('upload-offset'), String(half));
  // tus-js-client with the stored upload URL asks for the offset and continues from it
  const res = await upload(photo, { id, requestId, uploadUrl: location });
  assert.equal(res.url, location);
  assert.equal(res.requests[0].method, 'HEAD');
  const patches = res.requests.filter((r) => r.method === 'PATCH').map((r) => Number(r.offset));
  assert.equal(patches[0], half, 'resumed at ' + patches);
  const data = await pullRequest(requestId);
  assert.equal(data.photos.length, 1);
});
