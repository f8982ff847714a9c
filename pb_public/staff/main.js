// The staff console's shell: language, sign-in gate, navigation, hash router,
// idle lock and keyboard shortcuts. Views are ES modules loaded on demand
// (views/*.js) so the first load stays small; each exports
// render(main, params, ctx) and may return {update(params), shortcut(action), destroy()}.
import { pb, me, isSupervisor, send } from './api.js';
import { LANGS, detectLang, loadLang, t } from './i18n.js';
import { h, announce } from '/app/dom.js';
import { settings } from './settings.js';
import { installShortcuts } from './keys.js';

const $ = (id) => document.getElementById(id);
const main = $('main');

const ROUTES = [
  { re: /^\/queue\/(mine|unassigned|overdue|open)(?:\/([a-z0-9]{15}))?$/, view: 'queue', params: (m) => ({ tab: m[1], id: m[2] || null }) },
  { re: /^\/desk$/, view: 'desk', params: () => ({ mode: 'scan' }) },
  { re: /^\/desk\/file$/, view: 'desk', params: () => ({ mode: 'file' }) },
  { re: /^\/print\/([a-z0-9]{15})$/, view: 'print', params: (m) => ({ id: m[1] }) },
  { re: /^\/stats$/, view: 'stats', params: () => ({}), supervisor: true },
  { re: /^\/templates$/, view: 'templates', params: () => ({}), supervisor: true },
  { re: /^\/payments\/statements$/, view: 'statements', params: () => ({}), supervisor: true },
  { re: /^\/payments\/exceptions(?:\/([a-z0-9]{15}))?$/, view: 'exceptions', params: (m) => ({ id: m[1] || null }), supervisor: true },
  { re: /^\/consultations$/, view: 'consultations', params: () => ({ id: null }), supervisor: true },
  { re: /^\/consultations\/(new|[a-z0-9]{15})$/, view: 'consultation', params: (m) => ({ id: m[1] }), supervisor: true },
  // the link of a staff web push ("/staff/#/requests/<id>") opens the request beside the full queue
  { re: /^\/requests\/([a-z0-9]{15})$/, view: 'queue', params: (m) => ({ tab: 'open', id: m[1] }) },
  { re: /^\/notifications$/, view: 'notifications', params: () => ({}) },
  { re: /^\/settings$/, view: 'settings', params: () => ({}) },
];

const NAV = [
  { href: '#/queue/mine', key: 'nav.queue', match: 'queue' },
  { href: '#/desk', key: 'nav.desk', match: 'desk' },
  { href: '#/stats', key: 'nav.stats', match: 'stats', supervisor: true },
  { href: '#/templates', key: 'nav.templates', match: 'templates', supervisor: true },
  { href: '#/payments/statements', key: 'nav.payments', match: ['statements', 'exceptions'], supervisor: true },
  { href: '#/consultations', key: 'nav.consultations', match: ['consultations', 'consultation'], supervisor: true },
  { href: '#/notifications', key: 'nav.notifications', match: 'notifications', badge: true },
  { href: '#/settings', key: 'nav.settings', match: 'settings' },
];

const state = { view: null, name: null, mod: null, route: null, unread: 0 };

/** ctx is what views get from the shell. */
const ctx = {
  go: (hash) => { if (location.hash === hash) route(); else location.hash = hash; },
  setUnread: (n) => { state.unread = n; renderNav(); },
  rerender: () => route({ force: true }),
  refreshNav: () => renderNav(),
};

function parse() {
  const path = decodeURIComponent(location.hash.replace(/^#/, '')) || '/';
  for (const r of ROUTES) {
    const m = path.match(r.re);
    if (m && (!r.supervisor || isSupervisor())) return { view: r.view, params: r.params(m) };
  }
  return null;
}

function renderNav() {
  const nav = $('nav');
  const who = $('who');
  const user = me();
  if (!user || document.body.classList.contains('locked')) {
    nav.hidden = true;
    who.hidden = true;
    return;
  }
  nav.hidden = false;
  nav.setAttribute('aria-label', t('nav.label'));
  nav.replaceChildren(h('ul', {}, NAV.filter((n) => !n.supervisor || isSupervisor()).map((n) => h('li', {},
    h('a', { href: n.href, 'aria-current': [].concat(n.match).includes(state.name) ? 'page' : null },
      t(n.key),
      n.badge && state.unread ? h('span', { class: 'badge' }, String(state.unread), h('span', { class: 'sr-only' }, ` ${t('nav.unread')}`)) : null)))));
  who.hidden = false;
  who.replaceChildren(
    h('span', {}, t('who.signedIn', { name: user.name || user.email })),
    h('button', { type: 'button', class: 'secondary', id: 'lock-now', onclick: () => ctx.lock() }, t('who.lock')),
    h('button', { type: 'button', class: 'secondary', id: 'sign-out', onclick: signOut }, t('who.signout')),
  );
}

/** signOut forgets the token on this device and shows the sign-in form. */
export async function signOut() {
  // this computer's staff push subscription goes with the sign-in (a shared counter PC)
  if ('serviceWorker' in navigator) await navigator.serviceWorker.getRegistration('/staff/').then((r) => (r && new URL(r.scope).pathname === '/staff/' ? import('./views/push.js').then((m) => m.forget()) : null)).catch(() => {});
  pb.realtime.unsubscribe().catch(() => {});
  pb.authStore.clear();
  localStorage.removeItem('civicdesk.staff.locked');
  announce(t('auth.signedOut'));
  location.hash = '#/queue/mine';
  await route({ force: true });
}
ctx.signOut = signOut;

async function loadView(name) {
  return import(`./views/${name}.js`);
}

let routing = Promise.resolve();

/** route renders the view of the current hash (serialised: one render at a time). */
function route(opts = {}) {
  routing = routing.then(() => doRoute(opts)).catch((err) => {
    console.error(err);
    main.replaceChildren(h('h1', { tabindex: '-1' }, t('err.title')), h('p', { class: 'note bad' }, String(err.message || err)));
  });
  return routing;
}

async function doRoute({ force = false } = {}) {
  document.body.dataset.routing = location.hash || '#';
  try {
    await renderRoute({ force });
  } finally {
    delete document.body.dataset.routing;
  }
}

async function renderRoute({ force = false } = {}) {
  if (localStorage.getItem('civicdesk.staff.locked') === '1' && me()) {
    destroyView();
    state.name = null;
    const m = await loadView('signin');
    return m.lock(ctx);
  }
  if (!me()) {
    destroyView();
    state.name = 'signin';
    renderNav();
    const m = await loadView('signin');
    const box = viewBox();
    main.setAttribute('aria-busy', 'true');
    await m.render(box, {}, { ...ctx, signedIn: () => { startSession(); route({ force: true }); } });
    main.removeAttribute('aria-busy');
    document.title = `${t('signin.title')} · ${t('app.name')}`;
    return;
  }
  const r = parse();
  if (!r) {
    location.replace('#/queue/mine');
    return renderRoute({ force });
  }
  if (!force && state.name === r.view && state.view?.update) {
    state.route = r;
    await state.view.update(r.params);
    return;
  }
  destroyView();
  state.name = r.view;
  state.route = r;
  renderNav();
  const m = await loadView(r.view);
  const box = viewBox();
  main.setAttribute('aria-busy', 'true');
  const view = (await m.render(box, r.params, ctx)) || {};
  main.removeAttribute('aria-busy');
  if (!box.isConnected) {
    // locked or routed elsewhere while this view was loading: it never shows
    try { view.destroy?.(); } catch (err) { console.error(err); }
    return;
  }
  state.view = view;
  const h1 = main.querySelector('h1');
  document.title = `${h1 ? h1.textContent : ''} · ${t('app.name')}`;
  if (!state.view.keepFocus && h1) { h1.setAttribute('tabindex', '-1'); h1.focus({ preventScroll: true }); }
}

/**
 * viewBox gives each rendered view its own element inside <main>: a view still
 * loading when the screen locks (or the route changes) writes into a detached
 * box, never over the lock screen.
 */
function viewBox() {
  const box = h('div', { class: 'view' });
  main.replaceChildren(box);
  return box;
}

function destroyView() {
  try { state.view?.destroy?.(); } catch (err) { console.error(err); }
  state.view = null;
}

// --- language ---

async function applyLang(l, remember) {
  await loadLang(l, { remember });
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  $('announcer').textContent = ''; // an announcement in the previous language must not linger
  $('lang-select').value = l;
}

async function switchLang(l) {
  main.setAttribute('aria-busy', 'true');
  await applyLang(l, true);
  const user = me();
  if (user && user.lang !== l) {
    // mails and one-time codes follow the staff record's language (best effort: the
    // record's update rule decides whether staff may change it themselves)
    pb.collection('staff').update(user.id, { lang: l }).then((rec) => pb.authStore.save(pb.authStore.token, rec)).catch(() => {});
  }
  renderNav();
  await route({ force: true });
  main.removeAttribute('aria-busy');
}

// --- session: refresh, idle lock, notifications badge ---

let sessionStarted = false;

function startSession() {
  if (sessionStarted) return;
  sessionStarted = true;
  const user = me();
  if (user?.lang && LANGS.includes(user.lang) && !localStorage.getItem('civicdesk.staff.lang') && user.lang !== document.documentElement.lang) {
    applyLang(user.lang, false).then(() => route({ force: true }));
  }
  watchIdle();
  pollUnread();
}

async function pollUnread() {
  if (!me()) return;
  try {
    const list = await send('/api/staff/notifications');
    const items = Array.isArray(list) ? list : list.items || [];
    ctx.setUnread(items.filter((n) => !n.read).length);
  } catch { /* the route may be missing on an old server: no badge */ }
}
ctx.pollUnread = pollUnread;

let lastActive = Date.now();
function watchIdle() {
  const bump = () => { lastActive = Date.now(); };
  for (const ev of ['pointerdown', 'keydown', 'wheel', 'touchstart']) addEventListener(ev, bump, { passive: true, capture: true });
  setInterval(() => {
    const mins = settings().idleMinutes;
    if (!mins || !me() || document.body.classList.contains('locked')) return;
    if (Date.now() - lastActive >= mins * 60000) ctx.lock();
  }, 5000);
  setInterval(pollUnread, 60000);
}
ctx.resetIdle = () => { lastActive = Date.now(); };

/** ctx.lock locks the screen once: the view is destroyed, its data leaves the DOM. */
ctx.lock = () => {
  if (document.body.classList.contains('locked')) return;
  document.body.classList.add('locked');
  destroyView();
  state.name = null;
  return import('./views/signin.js').then((m) => m.lock(ctx));
};

// the header is sticky: keep scroll-padding equal to its height so a focused
// element is never hidden under it (WCAG 2.4.11)
function trackHeader() {
  const top = $('top');
  const set = () => document.documentElement.style.setProperty('--header-h', `${top.offsetHeight}px`);
  new ResizeObserver(set).observe(top);
  set();
}

async function init() {
  await applyLang(detectLang(), false);
  trackHeader();
  $('lang-select').addEventListener('change', (e) => switchLang(e.target.value));
  $('skip').addEventListener('click', (e) => { e.preventDefault(); main.focus(); });
  addEventListener('hashchange', () => route());
  installShortcuts(() => state, ctx);
  if (me()) {
    // a token from yesterday may be expired or revoked ("sign out everywhere"): check it once
    try { await pb.collection('staff').authRefresh(); } catch (err) { if (err.status === 401 || err.status === 403 || err.status === 404) pb.authStore.clear(); }
  }
  if (me()) startSession();
  await route();
  document.body.dataset.ready = '1';
}

init();
