// Sign-in with the mandatory second factor, and the idle lock of shared counters.
// PocketBase's MFA (docs/staff-api.md): auth-with-password answers 401 {mfaId};
// request-otp mails (or, without SMTP, logs) an 8-digit code valid 180 s;
// auth-with-otp {otpId, password: code, mfaId} completes it. Wrong and expired codes
// get the same 400 from the server, so the form tells them apart by the clock.
import { pb, me, retryAfter, send } from '../api.js';
import { t } from '../i18n.js';
import { h, announce } from '/app/dom.js';
import { settings, saveSettings, SHARED_DEFAULT } from '../settings.js';

const OTP_TTL_MS = 180 * 1000;
const OTP_TRIES_WINDOW_S = 180;
const LOCK_KEY = 'civicdesk.staff.locked';

function waitText(fallbackKey, fallbackSeconds) {
  const s = retryAfter() || fallbackSeconds;
  return s ? t('auth.waitSeconds', { s }) : t(fallbackKey);
}

function showError(box, msg) {
  box.replaceChildren(h('p', {}, msg));
  box.focus();
  announce(msg);
}

/** passwordError turns a failed auth-with-password into a message. */
function passwordError(err) {
  if (err.status === 0) return t('err.offline');
  if (err.status === 429) return `${t('auth.rateLimited')} ${waitText('auth.waitMoment', 0)}`;
  if (err.status === 400 || err.status === 401 || err.status === 404) return t('auth.wrongPassword');
  if (err.status === 403) return t('auth.notStaff');
  return err.message || String(err);
}

/** render draws the two-step sign-in form; ctx.signedIn() is called once signed in. */
export async function render(main, _params, ctx) {
  // the flow outlives a re-render (a language switch on the code step stays on it)
  const flow = pending;

  const stepPassword = () => {
    const err = h('div', { class: 'summary', id: 'signin-error', tabindex: '-1', role: 'alert' });
    const email = h('input', { type: 'email', id: 'email', name: 'email', autocomplete: 'username', required: true, value: flow.email });
    const pw = h('input', { type: 'password', id: 'password', name: 'password', autocomplete: 'current-password', required: true });
    const shared = h('input', { type: 'checkbox', id: 'shared', checked: settings().idleMinutes > 0 });
    const submit = h('button', { type: 'submit' }, t('signin.submit'));
    const form = h('form', {
      id: 'signin-form', novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        if (!email.value.trim() || !pw.value) { showError(err, t('auth.fillBoth')); return; }
        flow.email = email.value.trim();
        saveSettings({ idleMinutes: shared.checked ? (settings().idleMinutes || SHARED_DEFAULT) : 0 });
        submit.disabled = true;
        try {
          await pb.collection('staff').authWithPassword(flow.email, pw.value);
          return done(); // MFA off on this server (not the shipped configuration)
        } catch (e2) {
          if (e2.status === 401 && e2.response?.mfaId) {
            flow.mfaId = e2.response.mfaId;
            await sendCode(err);
            if (flow.otpId) stepCode();
          } else {
            showError(err, passwordError(e2));
          }
        } finally {
          submit.disabled = false;
        }
      },
    },
    err,
    h('label', { for: 'email' }, t('auth.email')), email,
    h('label', { for: 'password' }, t('auth.password')), pw,
    h('label', { class: 'choice' }, shared, t('signin.shared', { n: settings().idleMinutes || SHARED_DEFAULT })),
    h('div', { class: 'actions' }, submit));
    main.replaceChildren(h('div', { class: 'narrow' },
      h('h1', { tabindex: '-1' }, t('signin.title')),
      h('p', {}, t('signin.intro')), form));
    (flow.email ? pw : email).focus();
  };

  const sendCode = async (errBox) => {
    try {
      const r = await pb.collection('staff').requestOTP(flow.email);
      flow.otpId = r.otpId;
      flow.sentAt = Date.now();
      flow.firstTry = 0;
    } catch (e) {
      flow.otpId = null;
      showError(errBox, e.status === 429 ? `${t('auth.rateLimited')} ${waitText('auth.waitMoment', 0)}` : passwordError(e));
    }
  };

  const stepCode = () => {
    const err = h('div', { class: 'summary', id: 'otp-error', tabindex: '-1', role: 'alert' });
    const info = h('p', { id: 'otp-info' }, t('otp.sent', { email: flow.email }));
    const code = h('input', {
      type: 'text', id: 'otp', name: 'otp', inputmode: 'numeric', autocomplete: 'one-time-code', required: true,
      'aria-describedby': 'otp-error otp-info otp-hint', maxlength: 12,
    });
    const submit = h('button', { type: 'submit' }, t('otp.submit'));
    const resend = h('button', {
      type: 'button', class: 'secondary', id: 'otp-resend',
      onclick: async () => {
        await sendCode(err);
        if (flow.otpId) { err.replaceChildren(); announce(t('otp.resent')); info.textContent = t('otp.sent', { email: flow.email }); code.focus(); }
      },
    }, t('otp.resend'));
    const restart = h('button', { type: 'button', class: 'linkish', onclick: () => { flow.mfaId = null; stepPassword(); } }, t('otp.restart'));
    const form = h('form', {
      id: 'otp-form', novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        const value = code.value.replace(/\s+/g, '');
        if (!value) { showError(err, t('otp.empty')); return; }
        submit.disabled = true;
        if (!flow.firstTry) flow.firstTry = Date.now();
        try {
          await pb.collection('staff').authWithOTP(flow.otpId, value, { mfaId: flow.mfaId });
          return done();
        } catch (e2) {
          const msg = e2.response?.message || '';
          if (e2.status === 429) {
            const left = Math.max(1, Math.ceil(OTP_TRIES_WINDOW_S - (Date.now() - flow.firstTry) / 1000));
            showError(err, `${t('otp.tooMany')} ${waitText('auth.waitMoment', left)}`);
          } else if (/MFA session/i.test(msg)) {
            flow.mfaId = null;
            stepPassword();
            showError(document.getElementById('signin-error'), t('otp.sessionExpired'));
          } else if (e2.status === 400 && Date.now() - flow.sentAt > OTP_TTL_MS) {
            showError(err, t('otp.expired'));
          } else if (e2.status === 400) {
            showError(err, t('otp.wrong'));
            code.setAttribute('aria-invalid', 'true');
            code.select(); // retype at once; the message is announced (role=alert) and describes the field
          } else {
            showError(err, passwordError(e2));
          }
        } finally {
          submit.disabled = false;
        }
      },
    },
    err, info,
    h('label', { for: 'otp' }, t('otp.label')),
    h('p', { class: 'hint', id: 'otp-hint' }, t('otp.hint')), code,
    h('div', { class: 'actions' }, submit, resend), restart);
    main.replaceChildren(h('div', { class: 'narrow' }, h('h1', { tabindex: '-1' }, t('otp.title')), form));
    code.focus();
  };

  const done = () => {
    Object.assign(flow, { mfaId: null, otpId: null, sentAt: 0, firstTry: 0 });
    localStorage.removeItem(LOCK_KEY);
    announce(t('auth.signedIn', { name: me()?.name || flow.email }));
    ctx.signedIn();
  };

  if (flow.mfaId && flow.otpId && Date.now() - flow.sentAt < MFA_TTL_MS) stepCode();
  else stepPassword();
}

const MFA_TTL_MS = 600 * 1000;
const pending = { email: '', mfaId: null, otpId: null, sentAt: 0, firstTry: 0 };

/**
 * lock hides everything the console shows and asks for the password again. The
 * token stays (so work resumes where it was); the password is checked by the
 * server: with MFA on, a correct password answers 401 {mfaId} (the code step is
 * not repeated for an unlock), a wrong one 400.
 */
export async function lock(ctx) {
  const user = me();
  if (!user) return;
  localStorage.setItem(LOCK_KEY, '1');
  document.body.classList.add('locked');
  ctx.refreshNav();
  pb.realtime.unsubscribe().catch(() => {});
  const main = document.getElementById('main');
  const err = h('div', { class: 'summary', id: 'unlock-error', tabindex: '-1', role: 'alert' });
  const pw = h('input', { type: 'password', id: 'unlock-password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit' }, t('lock.unlock'));
  const form = h('form', {
    id: 'unlock-form', novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      if (!pw.value) { showError(err, t('lock.empty')); return; }
      submit.disabled = true;
      const token = pb.authStore.token;
      const record = pb.authStore.record;
      let ok = false;
      try {
        await pb.collection('staff').authWithPassword(user.email, pw.value);
        ok = true;
      } catch (e2) {
        if (e2.status === 401 && e2.response?.mfaId) ok = true;
        else showError(err, passwordError(e2));
      } finally {
        submit.disabled = false;
      }
      if (!ok) return;
      if (!pb.authStore.isValid) pb.authStore.save(token, record);
      localStorage.removeItem(LOCK_KEY);
      document.body.classList.remove('locked');
      ctx.resetIdle();
      announce(t('lock.unlocked'));
      ctx.rerender();
    },
  },
  err,
  h('label', { for: 'unlock-password' }, t('auth.password')), pw,
  h('div', { class: 'actions' }, submit,
    h('button', { type: 'button', class: 'secondary', id: 'lock-signout', onclick: () => { document.body.classList.remove('locked'); ctx.signOut(); } }, t('lock.otherUser'))));
  main.replaceChildren(h('div', { class: 'narrow lock' },
    h('h1', { tabindex: '-1' }, t('lock.title')),
    h('p', {}, t('lock.intro', { name: user.name || user.email, email: user.email })), form));
  document.title = `${t('lock.title')} · ${t('app.name')}`;
  pw.focus();
}

/** signOutEverywhere revokes every token of the account (all devices), then signs out here. */
export async function signOutEverywhere(ctx) {
  await send('/api/staff/signout-everywhere', { method: 'POST' });
  await ctx.signOut();
}
