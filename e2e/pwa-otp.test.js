// Citizen PWA sign-in with an email one-time code: the app requests the code,
// the server mails it (to a minimal SMTP receiver in this test, configured
// through PocketBase's settings API), the citizen types it, and is signed in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { execFileSync } from 'node:child_process';
import { startServer, freePort, binary, login, api } from './lib/server.js';
import { launch, waitFor } from './lib/pwa.js';

let srv;
let b;
let smtp;
const mails = [];

/** startSMTP accepts mail without TLS or auth and keeps each message's text. */
async function startSMTP(port) {
  const server = createServer((sock) => {
    let buf = '';
    let data = false;
    let msg = '';
    sock.write('220 e2e ESMTP\r\n');
    sock.on('data', (chunk) => {
      buf += chunk.toString('latin1');
      let i;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (data) {
          if (line === '.') { data = false; mails.push(msg); msg = ''; sock.write('250 queued\r\n'); } else msg += `${line}\r\n`;
          continue;
        }
        const cmd = line.slice(0, 4).toUpperCase();
        if (cmd === 'EHLO' || cmd === 'HELO') sock.write('250 e2e\r\n');
        else if (cmd === 'DATA') { data = true; sock.write('354 go on\r\n'); } else if (cmd === 'QUIT') { sock.end('221 bye\r\n'); } else sock.write('250 ok\r\n');
      }
    });
    sock.on('error', () => {});
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return server;
}

before(async () => {
  const port = await freePort();
  smtp = await startSMTP(port);
  srv = await startServer();
  execFileSync(binary(), ['superuser', 'upsert', 'root@e2e.civicdesk.example', 'root-password-e2e-1', '--dir', srv.dataDir], { env: srv.env, stdio: 'pipe' });
  const su = await login(srv.url, '_superusers', 'root@e2e.civicdesk.example', 'root-password-e2e-1');
  const r = await api(srv.url, 'PATCH', '/api/settings', {
    token: su.token,
    body: { meta: { senderName: 'civicdesk', senderAddress: 'noreply@e2e.civicdesk.example' }, smtp: { enabled: true, host: '127.0.0.1', port, tls: false } },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  b = await launch();
});
after(async () => { await b?.close(); await srv?.stop(); smtp?.close(); });

/** otpFrom returns the numeric code of a mail (quoted-printable tolerated). */
function otpFrom(mail) {
  const text = mail.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (m, h) => String.fromCharCode(parseInt(h, 16)));
  const body = text.slice(text.indexOf('\r\n\r\n'));
  const m = body.match(/\b(\d{6,10})\b/);
  return m && m[1];
}

test('email one-time code: request, receive, sign in', async () => {
  const { page } = b;
  await page.goto(`${srv.url}/signin`);
  await page.click('a[href^="/signin/code"]');
  await page.waitForSelector('#otp-request');
  await page.click('#otp-request'); // empty email: the error names the field
  await waitFor(async () => /Email: this is required/.test(await page.textContent('main')), { what: 'required email message' });
  await page.fill('#email', 'citizen@demo.civicdesk.example');
  await page.click('#otp-request');
  await page.waitForSelector('#code');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'code', 'focus moves to the code field');

  const mail = await waitFor(() => mails.find((m) => /citizen@demo\.civicdesk\.example/.test(m)), { timeout: 20000, what: 'the OTP mail' });
  const code = otpFrom(mail);
  assert.ok(code, 'the mail carries a code');

  await page.fill('#code', '00000000');
  await page.click('form button[type=submit]');
  await waitFor(async () => /The code is wrong or has expired/.test(await page.textContent('main')), { what: 'wrong code message' });

  await page.fill('#code', code);
  await page.click('form button[type=submit]');
  await page.waitForURL(/\/new$/, { timeout: 20000 });
  const who = await page.evaluate(() => JSON.parse(localStorage.getItem('civicdesk.auth')).record.email);
  assert.equal(who, 'citizen@demo.civicdesk.example');
});
