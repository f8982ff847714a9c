// Front desk: scan a citizen's receipt QR with the camera (getUserMedia + jsQR,
// the copy /verify/ vendors), verify it offline with the /verify/ module against
// the city's JWKS, ask the server about revocation, and open the request; or file
// a request on behalf of the person at the counter (source=office) with the
// service's form rendered from its schema by the citizen app's own form module
// (same controls, same validation messages), then print the receipt.
import { pb, send, errorText, loadCatalogue, nameOf } from '../api.js';
import { t, lang } from '../i18n.js';
import { h, announce } from '/app/dom.js';
import { verifyCode, ReceiptError } from '/verify/receipt.js';

const JWKS_URL = '/.well-known/receipt-keys';
const SCAN_INTERVAL_MS = 150;

let jsqrLoading = null;
function loadJsQR() {
  if (self.jsQR) return Promise.resolve();
  if (!jsqrLoading) {
    jsqrLoading = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = '/verify/vendor/jsQR.js';
      s.addEventListener('load', resolve);
      s.addEventListener('error', () => { jsqrLoading = null; reject(new Error('jsQR')); });
      document.head.append(s);
    });
  }
  return jsqrLoading;
}

let jwks = null;
async function keys() {
  if (!jwks) {
    const r = await fetch(JWKS_URL, { cache: 'no-cache' });
    if (!r.ok) throw new Error(`keys: ${r.status}`);
    jwks = await r.json();
  }
  return jwks;
}

/** render draws the front desk (params.mode: scan | file). */
export async function render(main, params, ctx) {
  const cleanup = [];
  const sub = h('nav', { class: 'tabs', 'aria-label': t('desk.modes') }, h('ul', {},
    h('li', {}, h('a', { href: '#/desk', 'aria-current': params.mode === 'scan' ? 'page' : null }, t('desk.scanTab'))),
    h('li', {}, h('a', { href: '#/desk/file', 'aria-current': params.mode === 'file' ? 'page' : null }, t('desk.fileTab')))));
  main.replaceChildren(h('h1', { tabindex: '-1' }, params.mode === 'scan' ? t('desk.scanTitle') : t('desk.fileTitle')), sub);
  if (params.mode === 'scan') renderScan(main, ctx, cleanup);
  else await renderFile(main, ctx);
  return { destroy() { for (const fn of cleanup) fn(); } };
}

function renderScan(main, ctx, cleanup) {
  const result = h('section', { id: 'scan-result', 'aria-live': 'polite', tabindex: '-1' });
  const video = h('video', { id: 'scan-video', class: 'video', playsinline: true, muted: true, hidden: true, 'aria-label': t('desk.cameraView') });
  const code = h('textarea', { id: 'scan-code', rows: 3, spellcheck: 'false', autocomplete: 'off', 'aria-describedby': 'scan-code-hint' });
  const startBtn = h('button', { type: 'button', id: 'scan-start', onclick: () => (scanner.stop ? scanner.stop() : start()) }, t('desk.scanStart'));
  const scanner = { stop: null };

  async function start() {
    result.replaceChildren();
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
      await loadJsQR();
    } catch {
      result.replaceChildren(h('p', { class: 'note bad' }, t('desk.noCamera')));
      return;
    }
    video.srcObject = stream;
    video.hidden = false;
    await video.play().catch(() => {});
    startBtn.textContent = t('desk.scanStop');
    result.replaceChildren(h('p', {}, t('desk.scanning')));
    const canvas = document.createElement('canvas');
    const c2d = canvas.getContext('2d', { willReadFrequently: true });
    let running = true;
    scanner.stop = () => {
      running = false;
      for (const tr of stream.getTracks()) tr.stop();
      video.hidden = true;
      startBtn.textContent = t('desk.scanStart');
      scanner.stop = null;
    };
    const tick = () => {
      if (!running) return;
      const w = video.videoWidth;
      const hh = video.videoHeight;
      if (w && hh) {
        canvas.width = w;
        canvas.height = hh;
        c2d.drawImage(video, 0, 0, w, hh);
        const found = self.jsQR(c2d.getImageData(0, 0, w, hh).data, w, hh, { inversionAttempts: 'attemptBoth' });
        if (found?.data) {
          scanner.stop();
          code.value = found.data;
          check(found.data);
          return;
        }
      }
      setTimeout(tick, SCAN_INTERVAL_MS);
    };
    tick();
  }
  cleanup.push(() => scanner.stop?.());

  async function check(text) {
    text = text.trim();
    result.replaceChildren(h('p', {}, t('desk.checking')));
    let claims;
    try {
      ({ claims } = await verifyCode(text, await keys()));
    } catch (err) {
      const reason = err instanceof ReceiptError ? err.reason : 'malformed';
      result.replaceChildren(h('p', { class: 'note bad', id: 'scan-invalid', 'data-reason': reason }, t('desk.invalid', { reason: t(`reason.${reason}`) })));
      result.focus();
      return;
    }
    let online = null;
    try { online = await send('/api/receipts/verify', { method: 'POST', body: { code: text } }); } catch { /* offline: the signature check stands */ }
    if (online && !online.valid) {
      result.replaceChildren(h('p', { class: 'note bad', id: 'scan-invalid', 'data-reason': online.reason }, t('desk.invalid', { reason: t(`reason.${online.reason}`) })));
      result.focus();
      return;
    }
    const open = h('button', { type: 'button', id: 'scan-open', onclick: () => openByNumber(claims.number) }, t('desk.open', { number: claims.number }));
    result.replaceChildren(h('div', { class: 'note ok', id: 'scan-valid' },
      h('p', {}, t('desk.valid', { number: claims.number, kind: t(`receipt.${claims.kind}`) })),
      h('p', { class: 'hint' }, online ? t('desk.checkedOnline') : t('desk.checkedOffline')),
      h('div', { class: 'actions' }, open)));
    open.focus();
    announce(t('desk.valid', { number: claims.number, kind: t(`receipt.${claims.kind}`) }));
  }

  async function openByNumber(number) {
    try {
      const f = await send(`/api/staff/requests/by-number/${encodeURIComponent(number)}`).catch(() => null);
      let rid = f?.request?.id;
      if (!rid) {
        const r = await send('/api/staff/queue', { query: { q: number, tab: 'open', limit: 1 } });
        rid = r.items?.[0]?.id;
      }
      if (!rid) { result.append(h('p', { class: 'note bad' }, t('desk.notVisible', { number }))); return; }
      ctx.go(`#/queue/open/${rid}`);
    } catch (err) {
      result.append(h('p', { class: 'note bad' }, errorText(err)));
    }
  }

  main.append(
    h('p', {}, t('desk.scanIntro')),
    h('div', { class: 'actions' }, startBtn),
    video,
    h('form', { id: 'scan-form', onsubmit: (e) => { e.preventDefault(); if (code.value.trim()) check(code.value); } },
      h('label', { for: 'scan-code' }, t('desk.pasteLabel')), h('p', { class: 'hint', id: 'scan-code-hint' }, t('desk.pasteHint')), code,
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'secondary', id: 'scan-verify' }, t('desk.verify')))),
    result);
}

async function renderFile(main, ctx) {
  const L = lang();
  const cat = await loadCatalogue();
  // the citizen app's form module speaks through the citizen app's catalogue of strings:
  // load it in the clerk's language so the validation messages are the very same
  const appI18n = await import('/app/i18n.js');
  await appI18n.loadLang(L);
  const form = await import('/app/form.js');
  const services = cat.services.filter((s) => s.active !== false);
  const values = {};
  const summary = h('div', { class: 'summary', id: 'desk-summary', tabindex: '-1', role: 'alert' });
  const fieldsBox = h('div', { id: 'desk-fields' });
  const svcSel = h('select', { id: 'desk-service', required: true, onchange: () => drawFields() },
    h('option', { value: '' }, t('desk.chooseService')),
    services.map((s) => h('option', { value: s.id }, nameOf(s, L))));
  let errors = {};

  function drawFields() {
    const s = cat.serviceById.get(svcSel.value);
    fieldsBox.replaceChildren();
    if (!s) return;
    const fields = [...(s.fields || [])].sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
    const loc2 = s.location !== 'none';
    fieldsBox.append(
      h('fieldset', {}, h('legend', {}, t('desk.answers', { service: nameOf(s, L) })), fields.map((f) => form.renderField(f, values, errors))),
      h('label', { for: 'desk-description' }, t('desk.description')),
      h('textarea', { id: 'desk-description', maxlength: 5000, rows: 3 }, values.__description || ''),
      loc2 ? h('fieldset', {}, h('legend', {}, s.location === 'required' ? t('desk.locationRequired') : t('desk.location')),
        h('label', { for: 'desk-address' }, t('desk.address')), h('input', { type: 'text', id: 'desk-address', maxlength: 300, autocomplete: 'off' }),
        h('div', { class: 'row2' },
          h('div', {}, h('label', { for: 'desk-lat' }, t('desk.lat')), h('input', { type: 'text', id: 'desk-lat', inputmode: 'decimal', autocomplete: 'off' })),
          h('div', {}, h('label', { for: 'desk-lon' }, t('desk.lon')), h('input', { type: 'text', id: 'desk-lon', inputmode: 'decimal', autocomplete: 'off' })))) : null,
      h('fieldset', {}, h('legend', {}, t('desk.person')),
        h('label', { for: 'desk-name' }, t('desk.name')), h('input', { type: 'text', id: 'desk-name', maxlength: 200, autocomplete: 'off' }),
        h('label', { for: 'desk-email' }, t('desk.email')), h('input', { type: 'email', id: 'desk-email', maxlength: 200, autocomplete: 'off' }),
        h('label', { for: 'desk-phone' }, t('desk.phone')), h('input', { type: 'tel', id: 'desk-phone', maxlength: 50, autocomplete: 'off' })));
  }

  async function submit(e) {
    e.preventDefault();
    const s = cat.serviceById.get(svcSel.value);
    if (!s) { summary.replaceChildren(h('p', {}, t('desk.needService'))); summary.focus(); return; }
    const fields = s.fields || [];
    const list = form.validateAnswers(fields, values, L);
    const val = (id) => document.getElementById(id)?.value.trim() || '';
    const lat = val('desk-lat');
    const lon = val('desk-lon');
    const extra = [];
    let location = null;
    if (lat || lon) {
      const la = Number(lat.replace(',', '.'));
      const lo = Number(lon.replace(',', '.'));
      if (!Number.isFinite(la) || !Number.isFinite(lo) || Math.abs(la) > 90 || Math.abs(lo) > 180) extra.push({ code: 'desk-lat', message: t('desk.badCoords') });
      else location = { lat: la, lon: lo };
    }
    if (s.location === 'required' && !location && !val('desk-address')) extra.push({ code: 'desk-address', message: t('desk.needLocation') });
    errors = Object.fromEntries(list.map((x) => [x.code, x.message]));
    if (list.length || extra.length) {
      values.__description = val('desk-description');
      drawFields();
      summary.replaceChildren(h('p', {}, t('desk.fix')), h('ul', {}, [...list.map((x) => h('li', {}, h('a', { href: `#${form.fieldId(x.code)}`, onclick: (ev) => { ev.preventDefault(); document.getElementById(form.fieldId(x.code))?.focus(); } }, x.message))),
        ...extra.map((x) => h('li', {}, h('a', { href: `#${x.code}`, onclick: (ev) => { ev.preventDefault(); document.getElementById(x.code)?.focus(); } }, x.message)))]));
      summary.focus();
      return;
    }
    const body = {
      source: 'office', service: s.id, answers: form.toAnswers(fields, values), description: val('desk-description'),
      address: val('desk-address'), contact_name: val('desk-name'), contact_email: val('desk-email'), contact_phone: val('desk-phone'),
    };
    if (location) body.location = location;
    const btn = document.getElementById('desk-submit');
    btn.disabled = true;
    try {
      const rec = await pb.collection('requests').create(body);
      announce(t('desk.filed', { number: rec.number }));
      ctx.go(`#/print/${rec.id}`);
    } catch (err) {
      summary.replaceChildren(h('p', {}, errorText(err)));
      summary.focus();
    } finally {
      btn.disabled = false;
    }
  }

  main.append(h('p', {}, t('desk.fileIntro')),
    h('form', { id: 'desk-form', novalidate: true, onsubmit: submit }, summary,
      h('label', { for: 'desk-service' }, t('desk.service')), svcSel, fieldsBox,
      h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'desk-submit' }, t('desk.submit')))));
}
