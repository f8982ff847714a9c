// Photos are resized on the phone before they are queued: a ~1600 px JPEG
// uploads faster on a bad connection and saves storage quota. Decoding applies
// the EXIF orientation; the canvas re-encode drops the metadata (GPS included).

/** MAX_PHOTOS is the server's per-request limit (CONTRACT §4.3). */
export const MAX_PHOTOS = 5;
const MAX_EDGE = 1600;
const QUALITY = 0.82;

async function decode(file) {
  if ('createImageBitmap' in window) {
    try { return await createImageBitmap(file, { imageOrientation: 'from-image' }); } catch { /* fall back to <img> */ }
  }
  const url = URL.createObjectURL(file);
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    return img;
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** resizePhoto returns {data: ArrayBuffer, type: 'image/jpeg', width, height}. */
export async function resizePhoto(file) {
  const src = await decode(file);
  const w0 = src.width || src.naturalWidth;
  const h0 = src.height || src.naturalHeight;
  const scale = Math.min(1, MAX_EDGE / Math.max(w0, h0));
  const w = Math.max(1, Math.round(w0 * scale));
  const hgt = Math.max(1, Math.round(h0 * scale));
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = hgt;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff'; // transparent PNGs become white, not black, as JPEG
  ctx.fillRect(0, 0, w, hgt);
  ctx.drawImage(src, 0, 0, w, hgt);
  if (src.close) src.close();
  const blob = await new Promise((res, rej) => canvas.toBlob((b) => (b ? res(b) : rej(new Error('encode failed'))), 'image/jpeg', QUALITY));
  return { data: await blob.arrayBuffer(), type: 'image/jpeg', width: w, height: hgt };
}

/** sha256Hex returns the lowercase hex SHA-256 of bytes. */
export async function sha256Hex(buf) {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}
