// Client-chosen identifiers (CONTRACT: record ids [a-z0-9]{15}; clientID and
// attachmentId opaque [A-Za-z0-9_-]{1,64}, ULIDs here).

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** recordId returns a PocketBase-style id: 15 random characters of [a-z0-9]. */
export function recordId() {
  const out = [];
  // rejection sampling keeps the distribution uniform (256 % 36 != 0)
  while (out.length < 15) {
    for (const b of crypto.getRandomValues(new Uint8Array(32))) {
      if (b < 252 && out.length < 15) out.push(ALNUM[b % 36]);
    }
  }
  return out.join('');
}

/** ulid returns a 26-character ULID: 48-bit millisecond time + 80 random bits. */
export function ulid(now = Date.now()) {
  let t = '';
  for (let i = 0; i < 10; i++) { t = CROCKFORD[now % 32] + t; now = Math.floor(now / 32); }
  const r = crypto.getRandomValues(new Uint8Array(16));
  let s = '';
  for (let i = 0; i < 16; i++) s += CROCKFORD[r[i] % 32];
  return t + s;
}
