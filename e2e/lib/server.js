// Starts the real civicdesk binary for black-box tests: a fresh data dir, the
// demo city seeded, `serve` on a free loopback port. Shared by every e2e test.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');
export const demoPassword = process.env.CIVICDESK_DEMO_PASSWORD || 'civicdesk-demo-2026';

/** binary returns the civicdesk binary: $CIVICDESK_BIN or bin/civicdesk (run `make build`). */
export function binary() {
  return process.env.CIVICDESK_BIN || join(repoRoot, 'bin', 'civicdesk');
}

/** freePort asks the kernel for a free loopback port. */
export function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

/**
 * startServer seeds the demo city and starts `civicdesk serve`.
 * Returns {url, port, dataDir, env, stop(), kill(), restart(), logs()}.
 */
export async function startServer({ env = {} } = {}) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'civicdesk-e2e-'));
  const url = `http://127.0.0.1:${port}`;
  // the demo's request history (console) is left out unless a test asks for it: tests count what they create
  const fullEnv = { ...process.env, CIVICDESK_PUBLIC_URL: url, CIVICDESK_DEMO_HISTORY: 'off', ...env };
  execFileSync(binary(), ['demo', '--dir', dataDir], { env: fullEnv, stdio: 'pipe' });
  let proc = null;
  let out = '';

  async function start() {
    proc = spawn(binary(), ['serve', '--http', `127.0.0.1:${port}`, '--dir', dataDir], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout.on('data', (d) => { out += d; });
    proc.stderr.on('data', (d) => { out += d; });
    const deadline = Date.now() + 30000;
    while (Date.now() < deadline) {
      try {
        const r = await fetch(`${url}/api/health`);
        if (r.ok) return;
      } catch { /* not up yet */ }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`server did not start:\n${out}`);
  }

  function waitExit(p) {
    return new Promise((res) => { if (p.exitCode !== null || p.signalCode !== null) res(); else p.once('exit', () => res()); });
  }

  await start();
  serverLogs.set(url, () => out);
  return {
    url, port, dataDir, env: fullEnv,
    logs: () => out,
    async kill() { const p = proc; proc = null; if (p) { p.kill('SIGKILL'); await waitExit(p); } },
    async restart() { if (proc) { await this.kill(); } await start(); },
    async stop() {
      const p = proc; proc = null;
      if (p) { p.kill('SIGTERM'); await waitExit(p); }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** serverLogs maps a started server's URL to its log reader (one-time codes for MFA). */
const serverLogs = new Map();

/** otpCode waits for the one-time code the server logged for email (no SMTP) after `seen` earlier ones. */
export async function otpCode(url, email, seen = 0) {
  const prefix = `ONE-TIME CODE for ${email}: `;
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    const lines = (serverLogs.get(url)?.() || '').split('\n').filter((l) => l.startsWith(prefix));
    if (lines.length > seen) return lines[lines.length - 1].slice(prefix.length).trim();
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no one-time code logged for ${email}`);
}

/**
 * login authenticates with a password and returns {token, record}. Staff have
 * mandatory MFA: on PocketBase's 401 {mfaId} it requests a one-time code,
 * reads it from the server's log (no SMTP) and completes with auth-with-otp.
 */
export async function login(url, collection, email, password = demoPassword) {
  const post = (path, body) => fetch(`${url}/api/collections/${collection}/${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const r = await post('auth-with-password', { identity: email, password });
  if (r.status === 401 && serverLogs.has(url)) {
    const { mfaId } = await r.json();
    if (mfaId) {
      const prefix = `ONE-TIME CODE for ${email}: `;
      const seen = (serverLogs.get(url)() || '').split('\n').filter((l) => l.startsWith(prefix)).length;
      const o = await post('request-otp', { email });
      if (!o.ok) throw new Error(`request-otp ${email}: ${o.status} ${await o.text()}`);
      const { otpId } = await o.json();
      const code = await otpCode(url, email, seen);
      const a = await post('auth-with-otp', { otpId, password: code, mfaId });
      if (!a.ok) throw new Error(`auth-with-otp ${email}: ${a.status} ${await a.text()}`);
      return a.json();
    }
  }
  if (!r.ok) throw new Error(`login ${email}: ${r.status} ${await r.text()}`);
  return r.json();
}

/** api performs a JSON request and returns {status, body, headers}. */
export async function api(url, method, path, { token, body, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.authorization = token;
  if (body !== undefined) h['content-type'] = 'application/json';
  const r = await fetch(url + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let parsed = text;
  try { parsed = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, body: parsed, headers: r.headers };
}
