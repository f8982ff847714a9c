// A tus 1.0 client (core protocol + creation) for photos held in IndexedDB.
// Why not tus-js-client: our source is an ArrayBuffer already on the device,
// resumption state lives in our own attachments store (not localStorage), and
// the server makes creation idempotent per attachmentId, so creation, HEAD and
// PATCH are all we need; no vendored bundle, no build step, ~3 KB.

const TUS = { 'Tus-Resumable': '1.0.0' };

/** TusError is a refused tus request; permanent when retrying cannot help. */
export class TusError extends Error {
  constructor(status, message) {
    super(message || `tus: HTTP ${status}`);
    this.status = status;
    this.permanent = status >= 400 && status < 500 && ![404, 408, 409, 410, 423, 429].includes(status);
  }
}

function b64(s) {
  return btoa(String.fromCharCode(...new TextEncoder().encode(String(s))));
}

async function fail(res) {
  let msg = '';
  try { const j = await res.json(); msg = j.message; } catch { /* not JSON */ }
  return new TusError(res.status, msg);
}

async function head(url, auth) {
  const res = await fetch(url, { method: 'HEAD', headers: { ...TUS, Authorization: auth }, cache: 'no-store' });
  if (res.status === 404 || res.status === 410) return null; // expired or unknown: create again
  if (!res.ok) throw await fail(res);
  return Number(res.headers.get('Upload-Offset'));
}

/**
 * upload sends att.data (ArrayBuffer) to endpoint, resuming from the server's
 * offset. att: {attachmentId, requestId, sha256, type, data, uploadUrl}.
 * onUrl(url) persists the upload URL before any byte is sent; onProgress(sent, total).
 * Network failures reject with the fetch TypeError; the next call resumes.
 */
export async function upload({ endpoint, auth, att, chunkSize = 256 * 1024, onUrl = async () => {}, onProgress = () => {} }) {
  const total = att.data.byteLength;
  let url = att.uploadUrl || null;
  let offset = url ? await head(url, auth) : null;
  if (offset === null) {
    const meta = [
      ['attachmentId', att.attachmentId], ['requestId', att.requestId],
      ['sha256', att.sha256], ['filetype', att.type], ['filename', `${att.attachmentId}.jpg`],
    ].map(([k, v]) => `${k} ${b64(v)}`).join(',');
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { ...TUS, Authorization: auth, 'Upload-Length': String(total), 'Upload-Metadata': meta },
    });
    if (!res.ok) throw await fail(res);
    const loc = res.headers.get('Location');
    if (!loc) throw new TusError(res.status, 'tus: creation without Location');
    url = new URL(loc, new URL(endpoint, location.href)).href;
    await onUrl(url);
    // a retried creation returns the existing upload, which may hold bytes already
    offset = res.headers.has('Upload-Offset') ? Number(res.headers.get('Upload-Offset')) : await head(url, auth);
    if (offset === null) throw new TusError(404, 'tus: upload vanished after creation');
  }
  onProgress(offset, total);
  while (offset < total) {
    const end = Math.min(total, offset + chunkSize);
    const res = await fetch(url, {
      method: 'PATCH',
      headers: { ...TUS, Authorization: auth, 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream' },
      body: att.data.slice(offset, end),
    });
    if (res.status === 409) { // our offset is stale (a lost response): ask the server
      const o = await head(url, auth);
      if (o === null) throw new TusError(404, 'tus: upload expired');
      offset = o;
      continue;
    }
    if (!res.ok) throw await fail(res);
    offset = Number(res.headers.get('Upload-Offset'));
    if (!Number.isFinite(offset)) throw new TusError(res.status, 'tus: PATCH without Upload-Offset');
    onProgress(offset, total);
  }
  return url;
}
