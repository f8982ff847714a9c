// Sign in (password or email one-time code) and sign up.
import { h, announce } from '../dom.js';
import { t, lang } from '../i18n.js';
import { signIn, signUp, requestOTP, signInOTP, request, HttpError, NetworkError, errorMessage } from '../api.js';
import { navigate, signedIn } from '../main.js';

const otp = { email: '', otpId: '', delivery: 'unknown' };

// delivery asks the server how codes travel ("mail" or "log": no SMTP, the
// city's desk reads them); anything else, e.g. an older server without the
// route, is "unknown" and the app never claims that a mail was sent.
async function delivery() {
  try {
    const r = await request('GET', '/api/auth-delivery', { auth: false });
    return ['mail', 'log'].includes(r.data && r.data.otp) ? r.data.otp : 'unknown';
  } catch {
    return 'unknown';
  }
}
const SENT = { mail: 'auth.otp.sent', log: 'auth.otp.sentLog', unknown: 'auth.otp.sentUnknown' };
// accounts created here whose sign-in failed (e.g. rate limited): a retry only signs in
const created = new Set();
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function field(id, labelKey, attrs, hintKey) {
  const hint = hintKey ? h('span', { class: 'hint', id: `${id}-hint` }, t(hintKey)) : null;
  return h('div', {},
    h('label', { for: id }, t(labelKey)), hint,
    h('input', { id, name: id, 'aria-describedby': [hint ? `${id}-hint` : '', `${id}-err`].filter(Boolean).join(' '), ...attrs }),
    h('p', { class: 'err', id: `${id}-err` }));
}

/** showErrors marks fields invalid, fills the summary and moves focus to it. */
function showErrors(form, errors) {
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const el of form.querySelectorAll('.err')) el.textContent = '';
  const summary = form.querySelector('.summary');
  summary.replaceChildren();
  if (!errors.length) return false;
  for (const e of errors) {
    if (e.id) {
      const input = form.querySelector(`#${e.id}`);
      input.setAttribute('aria-invalid', 'true');
      form.querySelector(`#${e.id}-err`).textContent = e.message;
    }
  }
  summary.append(h('h2', {}, t('err.summary')),
    h('ul', {}, errors.map((e) => h('li', {}, e.id ? h('a', { href: `#${e.id}`, onclick: (ev) => { ev.preventDefault(); form.querySelector(`#${e.id}`).focus(); } }, e.message) : e.message))));
  summary.focus();
  announce(errors.map((e) => e.message).join(' '));
  return true;
}

function afterSignIn(rec) {
  const next = new URLSearchParams(location.search).get('next');
  return signedIn(rec).then(() => navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/new', { replace: true }));
}

function failure(err, fallbackKey) {
  if (err instanceof NetworkError) return t('auth.offline');
  if (err instanceof HttpError && err.status === 429) {
    // security: the server says how long to wait (Retry-After, data.retryAfter)
    const secs = Number((err.body && err.body.data && err.body.data.retryAfter) || (err.headers && err.headers.get && err.headers.get('Retry-After')));
    return secs > 0 ? t('auth.tooManyWait', { s: Math.ceil(secs) }) : t('auth.tooMany');
  }
  if (err instanceof HttpError && err.status === 400 && fallbackKey === 'auth.signupFailed') return t(fallbackKey, { reason: errorMessage(err) });
  return t(fallbackKey);
}

/** authView renders mode 'signin', 'signup' or 'otp'. */
export function authView(mode) {
  const title = { signin: 'auth.signin.title', signup: 'auth.signup.title', otp: 'auth.otp.title' }[mode];
  const summary = h('div', { class: 'summary', tabindex: '-1', role: 'alert' });
  const busy = (form, on) => { for (const b of form.querySelectorAll('button')) b.disabled = on; };
  const val = (form, id) => form.querySelector(`#${id}`).value.trim();

  let form;
  if (mode === 'signin' || mode === 'signup') {
    form = h('form', { novalidate: true },
      summary,
      mode === 'signup' ? field('name', 'auth.name', { type: 'text', autocomplete: 'name', maxlength: 100 }) : null,
      field('email', 'auth.email', { type: 'email', autocomplete: 'email', required: true, inputmode: 'email' }),
      field('password', 'auth.password', { type: 'password', autocomplete: mode === 'signup' ? 'new-password' : 'current-password', required: true, minlength: 8 }, mode === 'signup' ? 'auth.passwordHint' : null),
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, t(mode === 'signup' ? 'auth.signup.submit' : 'auth.signin.submit'))));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const email = val(form, 'email');
      const password = form.querySelector('#password').value;
      const errs = [];
      if (!email) errs.push({ id: 'email', message: t('err.required', { field: t('auth.email') }) });
      else if (!EMAIL_RE.test(email)) errs.push({ id: 'email', message: t('err.email', { field: t('auth.email') }) });
      if (!password) errs.push({ id: 'password', message: t('err.required', { field: t('auth.password') }) });
      else if (mode === 'signup' && password.length < 8) errs.push({ id: 'password', message: t('err.minLength', { field: t('auth.password'), min: 8 }) });
      if (showErrors(form, errs)) return;
      busy(form, true);
      try {
        const r = mode === 'signup' && !created.has(email)
          ? await signUp({ email, password, name: val(form, 'name'), lang: lang() }, (e) => created.add(e))
          : await signIn(email, password);
        await afterSignIn(r.record);
      } catch (err) {
        busy(form, false);
        showErrors(form, [{ message: failure(err, mode === 'signup' ? 'auth.signupFailed' : 'auth.failed') }]);
      }
    });
  } else {
    const codeStep = !!otp.otpId;
    form = h('form', { novalidate: true },
      summary,
      field('email', 'auth.email', { type: 'email', autocomplete: 'email', required: true, value: otp.email, inputmode: 'email' }),
      codeStep ? h('p', { class: 'note', role: 'status', id: 'otp-sent' }, t(SENT[otp.delivery] || SENT.unknown, { email: otp.email })) : null,
      codeStep ? field('code', 'auth.otp.code', { type: 'text', autocomplete: 'one-time-code', inputmode: 'numeric', required: true }) : null,
      h('div', { class: 'actions' },
        codeStep ? h('button', { type: 'submit' }, t('auth.otp.submit')) : null,
        h('button', { type: codeStep ? 'button' : 'submit', class: codeStep ? 'secondary' : null, id: 'otp-request' }, t('auth.otp.request'))));
    const ask = async () => {
      const email = val(form, 'email');
      if (!EMAIL_RE.test(email)) { showErrors(form, [{ id: 'email', message: t(email ? 'err.email' : 'err.required', { field: t('auth.email') }) }]); return; }
      busy(form, true);
      try {
        otp.otpId = await requestOTP(email);
        otp.email = email;
        otp.delivery = await delivery();
        const fresh = authView('otp');
        form.closest('section').replaceWith(fresh);
        fresh.querySelector('#code').focus();
      } catch (err) {
        busy(form, false);
        showErrors(form, [{ message: failure(err, 'err.network') }]);
      }
    };
    form.querySelector('#otp-request').addEventListener('click', (e) => { if (codeStep) { e.preventDefault(); ask(); } });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!codeStep) { ask(); return; }
      const code = val(form, 'code');
      if (!code) { showErrors(form, [{ id: 'code', message: t('err.required', { field: t('auth.otp.code') }) }]); return; }
      busy(form, true);
      try {
        const r = await signInOTP(otp.otpId, code);
        otp.otpId = '';
        await afterSignIn(r.record);
      } catch (err) {
        busy(form, false);
        showErrors(form, [{ id: 'code', message: failure(err, 'auth.otpFailed') }]);
      }
    });
  }

  const links = {
    signin: [['/signup', 'auth.toSignup'], ['/signin/code', 'auth.toOtp']],
    signup: [['/signin', 'auth.toSignin']],
    otp: [['/signin', 'auth.toPassword'], ['/signup', 'auth.toSignup']],
  }[mode];
  return h('section', {},
    h('h1', {}, t(title)),
    mode === 'otp' && !otp.otpId ? h('p', {}, t('auth.otp.explain')) : null,
    form,
    h('ul', {}, links.map(([href, key]) => h('li', {}, h('a', { href: href + location.search }, t(key))))));
}
