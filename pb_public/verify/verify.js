// The receipt verifier page: paste, scan or read an image of a receipt QR
// code, verify it in the browser against the city's JWKS (cached for offline
// use), then, when online, ask the server whether that receipt was revoked.
import { verifyCode, ReceiptError } from './receipt.js';
import { LANGS, LANG_NAMES, pickLang, t } from './i18n.js';

const JWKS_URL = '/.well-known/receipt-keys';
// the service worker caches these two URLs: keep them in step with service-worker.js
const SERVICES_URL = '/api/collections/services/records?perPage=200&skipTotal=1&fields=code,name,i18n';
const VERIFY_URL = '/api/receipts/verify';
const DATA_CACHE = 'civicdesk-verify-data-v1';
const NET_TIMEOUT_MS = 5000;

const $ = (id) => document.getElementById(id);
const state = { lang: 'en', jwks: null, keysDate: null, services: new Map(), last: null };

/**
 * fetchCached gets JSON, network first. The service worker keeps the copy for
 * offline use; reading Cache Storage here as well covers a page that the
 * worker does not control yet (the very first visit).
 */
async function fetchCached(url) {
  try {
    const r = await fetch(url, { cache: 'no-cache', signal: AbortSignal.timeout(NET_TIMEOUT_MS) });
    if (!r.ok) throw new Error(`${url}: ${r.status}`);
    return { data: await r.json(), date: new Date(r.headers.get('date') || Date.now()) };
  } catch (err) {
    const hit = 'caches' in self ? await caches.match(url, { cacheName: DATA_CACHE, ignoreVary: true }) : null;
    if (!hit) return null;
    return { data: await hit.json(), date: new Date(hit.headers.get('date') || 0) };
  }
}

async function loadKeys() {
  const got = await fetchCached(JWKS_URL);
  if (got) {
    state.jwks = got.data;
    state.keysDate = got.date;
    document.body.dataset.keys = 'ready';
  }
  renderKeys();
}

async function loadServices() {
  const got = await fetchCached(SERVICES_URL);
  for (const s of got?.data?.items ?? []) state.services.set(s.code, s);
}

function serviceName(code) {
  const s = state.services.get(code);
  return s?.i18n?.[state.lang]?.name || s?.name || code;
}

const fmtDate = (d) => new Intl.DateTimeFormat(state.lang, { dateStyle: 'long', timeStyle: 'short' }).format(d);

function fmtAmount(minor, currency) {
  try {
    const nf = new Intl.NumberFormat(state.lang, { style: 'currency', currency });
    const digits = nf.resolvedOptions().maximumFractionDigits;
    return nf.format(minor / 10 ** digits);
  } catch {
    return `${minor} ${currency}`;
  }
}

function renderKeys() {
  const el = $('keys');
  el.textContent = state.keysDate ? t(state.lang, 'keysAsOf', { date: fmtDate(state.keysDate) }) : t(state.lang, 'keysMissing');
  const issuer = state.jwks?.issuer;
  $('city').textContent = issuer ? `${issuer.name} (${issuer.code})` : '';
}

function applyLang(lang) {
  state.lang = lang;
  document.documentElement.lang = lang;
  try { localStorage.setItem('civicdesk.verify.lang', lang); } catch { /* private mode */ }
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(lang, el.dataset.i18n);
  document.title = t(lang, 'title');
  $('lang').value = lang;
  if (scanner.stop) $('scan').textContent = t(lang, 'stopScan');
  renderKeys();
  if (state.last) renderResult(state.last);
}

function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  Object.assign(e, attrs);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** renderResult shows an outcome {valid, reason, claims, online} in the current language. */
function renderResult(outcome) {
  state.last = outcome;
  const box = $('result');
  box.replaceChildren();
  box.className = outcome.valid ? 'valid' : 'invalid';
  box.dataset.valid = String(outcome.valid);
  box.dataset.reason = outcome.reason || '';
  const L = state.lang;
  box.append(el('h2', {}, `${outcome.valid ? '✓' : '✗'} ${t(L, outcome.valid ? 'valid' : 'invalid')}`));
  if (!outcome.valid) box.append(el('p', {}, t(L, `reason.${outcome.reason}`)));
  const c = outcome.claims;
  if (c) {
    const issuerName = state.jwks?.issuer?.code === c.iss ? `${state.jwks.issuer.name} (${c.iss})` : c.iss;
    const vars = {
      number: c.number, service: serviceName(c.service), issuer: issuerName, date: fmtDate(c.iat),
      amount: c.amount !== undefined ? fmtAmount(c.amount, c.currency) : '',
      refunded: c.refunded !== undefined ? fmtAmount(c.refunded, c.currency) : '',
      version: c.ballotVersion,
    };
    if (outcome.valid) box.append(el('p', {}, t(L, `kind.${c.kind}`, vars)));
    const dl = el('dl');
    const row = (k, v) => { if (v !== undefined && v !== '') dl.append(el('dt', {}, t(L, k)), el('dd', {}, v)); };
    row('issuer', issuerName);
    row('number', c.number);
    if (c.kind !== 'ballot') row('service', vars.service);
    if (c.kind === 'ballot') row('ballotVersion', String(c.ballotVersion));
    row('status', t(L, `status.${c.status}`));
    row('issued', vars.date);
    if (c.amount !== undefined) row('amount', vars.amount);
    row('paymentRef', c.paymentRef);
    // payment claims (keys 9-15)
    if (c.amountDue !== undefined) row('amountDue', fmtAmount(c.amountDue, c.currency));
    if (c.refunded !== undefined) row('refunded', vars.refunded);
    if (c.method) row('method', t(L, `method.${c.method}`));
    if (c.paidAt) row(c.kind === 'refund' ? 'refundedAt' : 'paidAt', fmtDate(c.paidAt));
    row('feeId', c.feeId);
    row('evidence', c.evidence);
    row('receiptId', c.cti);
    box.append(dl);
    if (outcome.superseded) box.append(el('p', { className: 'superseded' }, t(L, 'superseded')));
  }
  if (outcome.valid) box.append(el('p', { className: 'hint' }, t(L, outcome.online ? 'checkedOnline' : 'checkedOffline')));
}

/** checkOnline asks the server about revocation; null when it cannot be reached. */
async function checkOnline(code) {
  if (!navigator.onLine) return null;
  try {
    const r = await fetch(VERIFY_URL, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }), signal: AbortSignal.timeout(NET_TIMEOUT_MS),
    });
    return r.ok ? await r.json() : null;
  } catch {
    return null;
  }
}

async function verify(code) {
  code = code.trim();
  const box = $('result');
  box.className = '';
  box.replaceChildren(el('p', {}, t(state.lang, 'checking')));
  delete box.dataset.valid;
  let outcome;
  if (!state.jwks) await loadKeys();
  if (!state.jwks) {
    outcome = { valid: false, reason: 'no_keys' };
  } else {
    try {
      let res;
      try {
        res = await verifyCode(code, state.jwks);
      } catch (err) {
        // a key newer than our cached JWKS: refresh once, then decide
        if (!(err instanceof ReceiptError) || err.reason !== 'unknown_key' || !navigator.onLine) throw err;
        await loadKeys();
        res = await verifyCode(code, state.jwks);
      }
      outcome = { valid: true, claims: res.claims, online: false };
      const server = await checkOnline(code);
      if (server) {
        outcome.online = true;
        if (!server.valid) Object.assign(outcome, { valid: false, reason: server.reason });
        if (server.superseded) outcome.superseded = true;
      }
    } catch (err) {
      outcome = { valid: false, reason: err instanceof ReceiptError ? err.reason : 'malformed' };
    }
  }
  renderResult(outcome);
  box.focus();
}

// --- QR reading: BarcodeDetector where the browser has it, jsQR otherwise ---

let decodeFrame = null;

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`load ${src}`));
    document.head.append(s);
  });
}

async function qrDecoder() {
  if (decodeFrame) return decodeFrame;
  if ('BarcodeDetector' in self) {
    try {
      if ((await BarcodeDetector.getSupportedFormats()).includes('qr_code')) {
        const d = new BarcodeDetector({ formats: ['qr_code'] });
        decodeFrame = async (src) => (await d.detect(src))[0]?.rawValue ?? null;
        return decodeFrame;
      }
    } catch { /* fall back to jsQR */ }
  }
  await loadScript('./vendor/jsQR.js');
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  decodeFrame = async (src) => {
    const w = src.videoWidth || src.width;
    const h = src.videoHeight || src.height;
    if (!w || !h) return null;
    canvas.width = w;
    canvas.height = h;
    ctx.drawImage(src, 0, 0, w, h);
    const img = ctx.getImageData(0, 0, w, h);
    return self.jsQR(img.data, w, h, { inversionAttempts: 'attemptBoth' })?.data ?? null;
  };
  return decodeFrame;
}

const scanner = { stop: null };

async function startScan() {
  if (scanner.stop) { scanner.stop(); return; }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
  } catch {
    renderResult({ valid: false, reason: 'malformed' });
    $('result').replaceChildren(el('p', {}, t(state.lang, 'noCamera')));
    return;
  }
  const video = $('video');
  video.srcObject = stream;
  $('camera').hidden = false;
  $('scan').textContent = t(state.lang, 'stopScan');
  await video.play();
  const decode = await qrDecoder();
  let running = true;
  scanner.stop = () => {
    running = false;
    for (const tr of stream.getTracks()) tr.stop();
    $('camera').hidden = true;
    $('scan').textContent = t(state.lang, 'scan');
    scanner.stop = null;
  };
  const tick = async () => {
    if (!running) return;
    const text = await decode(video).catch(() => null);
    if (text) {
      scanner.stop();
      $('code').value = text;
      verify(text);
      return;
    }
    setTimeout(tick, 200);
  };
  tick();
}

async function readImage(file) {
  try {
    const bmp = await createImageBitmap(file);
    const text = await (await qrDecoder())(bmp);
    if (!text) throw new Error('no qr');
    $('code').value = text;
    verify(text);
  } catch {
    state.last = null;
    const box = $('result');
    box.className = 'invalid';
    box.replaceChildren(el('p', {}, t(state.lang, 'noQR')));
    box.focus();
  }
}

function init() {
  const select = $('lang');
  for (const l of LANGS) select.append(el('option', { value: l }, LANG_NAMES[l]));
  let saved = null;
  try { saved = localStorage.getItem('civicdesk.verify.lang'); } catch { /* private mode */ }
  applyLang(pickLang(location.search, saved, navigator.languages));
  select.addEventListener('change', () => applyLang(select.value));
  $('form').addEventListener('submit', (ev) => { ev.preventDefault(); verify($('code').value); });
  $('scan').addEventListener('click', startScan);
  $('pick').addEventListener('click', () => $('image').click());
  $('image').addEventListener('change', () => { const f = $('image').files[0]; if (f) readImage(f); });

  const fromLink = new URLSearchParams(location.hash.slice(1)).get('code');
  loadKeys().then(() => { if (fromLink) { $('code').value = fromLink; verify(fromLink); } });
  loadServices();

  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('./service-worker.js', { scope: './' }).catch(() => { /* works online without it */ });
    navigator.serviceWorker.ready.then(() => { document.body.dataset.sw = 'ready'; });
  }
}

init();
