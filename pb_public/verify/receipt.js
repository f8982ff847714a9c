// Offline verification of civicdesk receipt codes (docs/receipts.md):
// "CR1:" + Base45 (RFC 9285) of a tagged COSE_Sign1 (RFC 9052), ES256, whose
// payload is a CWT. Pure functions plus WebCrypto; no dependencies.

export const PREFIX = 'CR1:';
export const MAX_CODE_LEN = 1024;
const KID_SIZE = 8;
const CLAIM_RECEIPT = -65537;
const ALG_ES256 = -7;

/** ReceiptError carries a stable reason code (the same as the server's). */
export class ReceiptError extends Error {
  constructor(reason, detail) {
    super(`${reason}: ${detail}`);
    this.reason = reason;
    this.detail = detail;
  }
}

const malformed = (detail) => new ReceiptError('malformed', detail);

const B45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';

/** base45Decode decodes RFC 9285 Base45 strictly (uppercase alphabet only). */
export function base45Decode(s) {
  if (s.length % 3 === 1) throw malformed('Base45 length leaves a single character');
  const out = new Uint8Array(Math.floor(s.length / 3) * 2 + (s.length % 3 === 2 ? 1 : 0));
  let o = 0;
  for (let i = 0; i < s.length; i += 3) {
    const group = s.slice(i, i + 3);
    let n = 0;
    let mul = 1;
    for (const ch of group) {
      const v = B45.indexOf(ch);
      if (v < 0) throw malformed(`character ${JSON.stringify(ch)} is not Base45`);
      n += v * mul;
      mul *= 45;
    }
    if (group.length === 3) {
      if (n > 0xffff) throw malformed('Base45 group exceeds 65535');
      out[o++] = n >> 8;
      out[o++] = n & 0xff;
    } else {
      if (n > 0xff) throw malformed('Base45 final group exceeds 255');
      out[o++] = n;
    }
  }
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * decodeCBOR decodes the CBOR subset receipts use: integers, byte and text
 * strings, arrays, maps, tags, true/false/null. Definite lengths only, bounded
 * depth and container sizes, no duplicate map keys, no trailing bytes.
 * Tags decode to {tag, value}; maps to Map.
 */
export function decodeCBOR(buf, { maxDepth = 6, maxItems = 32 } = {}) {
  let pos = 0;
  const need = (n) => {
    if (n > buf.length - pos) throw malformed('truncated CBOR');
  };
  const arg = (info) => {
    if (info < 24) return info;
    if (info === 24) { need(1); return buf[pos++]; }
    if (info === 25) { need(2); const v = buf[pos] * 256 + buf[pos + 1]; pos += 2; return v; }
    if (info === 26) {
      need(4);
      const v = ((buf[pos] * 256 + buf[pos + 1]) * 256 + buf[pos + 2]) * 256 + buf[pos + 3];
      pos += 4;
      return v;
    }
    if (info === 27) {
      need(8);
      let v = 0;
      for (let i = 0; i < 8; i++) v = v * 256 + buf[pos + i];
      pos += 8;
      if (!Number.isSafeInteger(v)) throw malformed('CBOR integer too large');
      return v;
    }
    throw malformed('indefinite or reserved CBOR length');
  };
  const item = (depth) => {
    if (depth > maxDepth) throw malformed('CBOR nested too deep');
    need(1);
    const ib = buf[pos++];
    const major = ib >> 5;
    const info = ib & 31;
    if (major === 7) {
      if (info === 20) return false;
      if (info === 21) return true;
      if (info === 22) return null;
      throw malformed('unsupported CBOR simple value or float');
    }
    const n = arg(info);
    switch (major) {
      case 0: return n;
      case 1: return -1 - n;
      case 2: { need(n); const b = buf.slice(pos, pos + n); pos += n; return b; }
      case 3: {
        need(n);
        let s;
        try { s = utf8.decode(buf.subarray(pos, pos + n)); } catch { throw malformed('invalid UTF-8'); }
        pos += n;
        return s;
      }
      case 4: {
        if (n > maxItems) throw malformed('CBOR array too long');
        const a = [];
        for (let i = 0; i < n; i++) a.push(item(depth + 1));
        return a;
      }
      case 5: {
        if (n > maxItems) throw malformed('CBOR map too large');
        const m = new Map();
        for (let i = 0; i < n; i++) {
          const k = item(depth + 1);
          if (typeof k !== 'number' && typeof k !== 'string') throw malformed('CBOR map key must be an integer or text');
          if (m.has(k)) throw malformed('duplicate CBOR map key');
          m.set(k, item(depth + 1));
        }
        return m;
      }
      default: // 6: tag
        return { tag: n, value: item(depth + 1) };
    }
  };
  const v = item(0);
  if (pos !== buf.length) throw malformed('trailing bytes after CBOR');
  return v;
}

function bstrHeader(len) {
  if (len < 24) return [0x40 + len];
  if (len < 256) return [0x58, len];
  return [0x59, len >> 8, len & 0xff];
}

/** sigStructure builds COSE's Sig_structure ["Signature1", protected, h'', payload] in CBOR. */
export function sigStructure(protectedBytes, payload) {
  const ctx = new TextEncoder().encode('Signature1');
  const parts = [
    [0x84, 0x60 + ctx.length], ctx,
    bstrHeader(protectedBytes.length), protectedBytes,
    [0x40], // external_aad: empty
    bstrHeader(payload.length), payload,
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

const isBytes = (v, len) => v instanceof Uint8Array && (len === undefined || v.length === len);
const isText = (v, max) => typeof v === 'string' && v.length > 0 && v.length <= max;

/** METHODS are the payment methods of claim 10, code 1 first. */
export const METHODS = ['sct', 'sct_inst', 'hct', 'swish', 'bankgiro', 'uk_fps', 'card', 'pagopa', 'counter'];

/** parseClaims validates a decoded CWT payload map and returns plain claims. */
export function parseClaims(cwt) {
  if (!(cwt instanceof Map)) throw malformed('claims are not a map');
  for (const k of cwt.keys()) if (![1, 6, 7, CLAIM_RECEIPT].includes(k)) throw malformed(`unknown claim ${k}`);
  const iss = cwt.get(1);
  const iat = cwt.get(6);
  const cti = cwt.get(7);
  const r = cwt.get(CLAIM_RECEIPT);
  if (!isText(iss, 8) || !Number.isSafeInteger(iat) || iat <= 0 || !isBytes(cti, 16) || !(r instanceof Map)) {
    throw malformed('missing or invalid iss, iat, cti or receipt claim');
  }
  // 1-8 base claims, 9-15 payment claims (docs/receipts.md); 16-31 are extensions a verifier ignores unless it knows them
  // 9-31 are extensions (CONTRACT §6): known ones are read below, others ignored
  for (const k of r.keys()) if (!(Number.isInteger(k) && k >= 1 && k <= 31)) throw malformed(`unknown receipt field ${k}`);
  const claims = {
    iss, iat: new Date(iat * 1000), cti: hex(cti),
    version: r.get(1), number: r.get(2), service: r.get(3), status: r.get(4),
    amount: r.get(5), currency: r.get(6), paymentRef: r.get(7),
    holder: r.has(8) ? r.get(8) : undefined,
    ballotVersion: r.get(16), // ballot receipts (consultations)
  };
  if (claims.ballotVersion !== undefined && !(Number.isSafeInteger(claims.ballotVersion) && claims.ballotVersion >= 1)) throw malformed('invalid ballot version');
  if (claims.version !== 1) throw malformed(`schema version ${claims.version}`);
  if (!isText(claims.number, 16) || !isText(claims.service, 24) || !isText(claims.status, 15)) throw malformed('invalid number, service or status');
  if (claims.holder !== undefined) {
    if (!isBytes(claims.holder, 8)) throw malformed('invalid holder tag');
    claims.holder = hex(claims.holder);
  }
  if (claims.amount !== undefined) {
    if (!Number.isSafeInteger(claims.amount) || claims.amount < 0 || !/^[A-Z]{3}$/.test(claims.currency ?? '')) throw malformed('invalid amount or currency');
    if (claims.paymentRef !== undefined && !isText(claims.paymentRef, 18)) throw malformed('invalid payment reference');
  } else if (claims.currency !== undefined || claims.paymentRef !== undefined) {
    throw malformed('currency or payment reference without amount');
  }
  if ([9, 10, 11, 12, 13, 14, 15].some((k) => r.has(k))) {
    if (claims.amount === undefined) throw malformed('payment claims without amount');
    const kind = r.get(9), method = r.get(10), paidAt = r.get(11), fee = r.get(12), ev = r.get(13), due = r.get(14), refunded = r.get(15);
    if (kind !== undefined && kind !== 2 && kind !== 3) throw malformed('invalid payment kind');
    if (method !== undefined && !(Number.isInteger(method) && method >= 1 && method <= 9)) throw malformed('invalid payment method');
    if (paidAt !== undefined && !(Number.isSafeInteger(paidAt) && paidAt > 0)) throw malformed('invalid paid-at');
    if (fee !== undefined && !isText(fee, 15)) throw malformed('invalid fee id');
    if (ev !== undefined && !isBytes(ev, 8)) throw malformed('invalid evidence tag');
    if (due !== undefined && !(Number.isSafeInteger(due) && due >= 0)) throw malformed('invalid amount due');
    // 15: the total refunded, on refund receipts (kind 3) and only there
    if ((refunded !== undefined) !== (kind === 3) || (refunded !== undefined && !(Number.isSafeInteger(refunded) && refunded > 0))) throw malformed('invalid refunded amount');
    claims.paymentKind = kind === 3 ? 'refund' : 'payment';
    claims.method = method !== undefined ? METHODS[method - 1] : undefined;
    claims.paidAt = paidAt !== undefined ? new Date(paidAt * 1000) : undefined;
    claims.feeId = fee;
    claims.evidence = ev !== undefined ? hex(ev) : undefined;
    claims.amountDue = due;
    claims.refunded = refunded;
  }
  claims.kind = claims.ballotVersion !== undefined ? 'ballot' : claims.paymentKind === 'refund' ? 'refund' : claims.amount !== undefined ? 'payment' : claims.status;
  return claims;
}

const keyCache = new Map();

async function importKey(jwk) {
  const id = `${jwk.kid}:${jwk.x}:${jwk.y}`;
  if (!keyCache.has(id)) {
    keyCache.set(id, crypto.subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, ext: true },
      { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']));
  }
  return keyCache.get(id);
}

/**
 * verifyCode checks a receipt code against a JWKS ({keys: [...]}) offline.
 * It resolves to {claims, key} or rejects with a ReceiptError whose reason is
 * malformed, unsupported_algorithm, unknown_key, revoked_key, bad_signature or wrong_issuer.
 */
export async function verifyCode(code, jwks) {
  code = String(code ?? '').trim();
  if (code.length > MAX_CODE_LEN) throw malformed('code too long');
  if (!code.startsWith(PREFIX)) throw malformed(`code does not start with ${PREFIX}`);
  const raw = base45Decode(code.slice(PREFIX.length));
  const msg = decodeCBOR(raw);
  if (!msg || msg.tag !== 18 || !Array.isArray(msg.value) || msg.value.length !== 4) throw malformed('not a tagged COSE_Sign1');
  const [protectedBytes, unprotected, payload, signature] = msg.value;
  if (!isBytes(protectedBytes) || !(unprotected instanceof Map) || !isBytes(payload) || !isBytes(signature)) throw malformed('bad COSE_Sign1 structure');
  const hdr = protectedBytes.length ? decodeCBOR(protectedBytes) : new Map();
  if (!(hdr instanceof Map)) throw malformed('protected header is not a map');
  if (!hdr.has(1)) throw malformed('no algorithm in the protected header');
  if (hdr.get(1) !== ALG_ES256) throw new ReceiptError('unsupported_algorithm', `algorithm ${hdr.get(1)}, want ES256 (-7)`);
  const kidBytes = hdr.get(4);
  if (!isBytes(kidBytes, KID_SIZE)) throw malformed('protected header needs an 8-byte kid');
  const kid = b64url(kidBytes);
  const key = (jwks?.keys ?? []).find((k) => k.kid === kid);
  if (!key) throw new ReceiptError('unknown_key', `no published key ${kid}`);
  if (key.status === 'revoked') throw new ReceiptError('revoked_key', `key ${kid} is revoked`);
  if (signature.length !== 64) throw new ReceiptError('bad_signature', 'ES256 signatures are 64 bytes');
  const ok = await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, await importKey(key), signature, sigStructure(protectedBytes, payload));
  if (!ok) throw new ReceiptError('bad_signature', `signature does not verify with key ${kid}`);
  const claims = parseClaims(decodeCBOR(payload));
  if (claims.iss !== key.iss) throw new ReceiptError('wrong_issuer', `iss ${claims.iss} but key ${kid} belongs to ${key.iss}`);
  return { claims, key };
}
