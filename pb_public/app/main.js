// The citizen app's shell: language, router, navigation, sync indicator,
// service worker registration and updates.
import { h } from './dom.js';
import { t, detectLang, loadLang, lang } from './i18n.js';
import { session, onSession, refresh, saveLang, NetworkError } from './api.js';
import { useCitizen } from './db.js';
import { loadCatalog } from './catalog.js';
import * as sync from './sync.js';
import * as realtime from './realtime.js';

// Views load on first use (all are precached): the first view fetches only what it shows.
const view = (mod, name) => async (...args) => (await import(`./views/${mod}.js`))[name](...args);
const authView = view('auth', 'authView');
const servicesView = view('file', 'servicesView');
const formView = view('file', 'formView');
const listView = view('requests', 'listView');
const detailView = view('requests', 'detailView');
const receiptsView = view('receipts', 'receiptsView');
const settingsView = view('settings', 'settingsView');
const payView = view('pay', 'payView'); // payments
const payReturnView = view('paycard', 'returnView'); // payment platforms
// consultations (issue 16)
const consultationsView = view('consultations', 'consultationsView');
const consultationView = view('consultations', 'consultationView');
const questionView = view('consultations', 'questionView');
const reviewView = view('consultations', 'reviewView');
const resultsView = view('consultations', 'resultsView');
const publicListView = view('public', 'publicListView');
const publicDetailView = view('public', 'publicDetailView');

/** app is the shared state the views read. */
export const app = { catalog: null, flash: null, installPrompt: null };

const ROUTES = [
  [/^\/signin\/?$/, () => authView('signin'), { public: true }],
  [/^\/signup\/?$/, () => authView('signup'), { public: true }],
  [/^\/signin\/code\/?$/, () => authView('otp'), { public: true }],
  [/^\/new\/?$/, servicesView, { public: true }], // browse before signing in; sending asks for it
  [/^\/new\/([a-z0-9_-]+)\/?$/, (m) => formView(m[1]), { public: true }],
  [/^\/requests\/?$/, listView, { live: true }],
  [/^\/requests\/([^/]+)\/?$/, (m) => detailView(decodeURIComponent(m[1])), { live: true }],
  [/^\/requests\/([^/]+)\/pay\/?$/, (m) => payView(decodeURIComponent(m[1])), { live: true }], // payments
  [/^\/payments\/return\/([a-f0-9]{48})\/?$/, (m) => payReturnView(m[1]), { public: true }], // payment platforms
  [/^\/receipts\/?$/, receiptsView, { live: true }],
  [/^\/settings\/?$/, settingsView],
  [/^\/consultations\/?$/, consultationsView, { live: true }],
  [/^\/consultations\/([a-z0-9]{15})\/?$/, (m) => consultationView(m[1]), { live: true }],
  [/^\/consultations\/([a-z0-9]{15})\/q\/(\d+)\/?$/, (m) => questionView(m[1], Number(m[2]))],
  [/^\/consultations\/([a-z0-9]{15})\/review\/?$/, (m) => reviewView(m[1])],
  [/^\/consultations\/([a-z0-9]{15})\/results\/?$/, (m) => resultsView(m[1])],
  [/^\/public\/?$/, publicListView, { public: true }],
  [/^\/public\/requests\/([a-z0-9]{15})\/?$/, (m) => publicDetailView(m[1]), { public: true }],
];
const NAV = [['/new', 'nav.new'], ['/requests', 'nav.requests'], ['/receipts', 'nav.receipts'], ['/consultations', 'nav.consultations'], ['/settings', 'nav.settings']];
// signed out: the catalogue and signing in (citizen-app, issue 13)
const PUBLIC_NAV = [['/new', 'nav.new'], ['/signin', 'auth.signin.title']];
let currentRoute = null;
let booted = false;
let renderSeq = 0;
let navPending = false;

/** navigate shows path (pushing history unless replace). */
export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render(true);
}

/** rerender redraws the current view (data or language changed), keeping focus where possible. */
export function rerender(force = false) { return render(false, force); }

async function render(isNavigation, force = false) {
  // links in push notifications may use hash routes (/#/requests/ID)
  if (location.hash.startsWith('#/')) history.replaceState(null, '', location.hash.slice(1));
  const path = location.pathname;
  if (path === '/' || path === '/index.html') { navigate('/new', { replace: true }); return; }
  let match = null;
  let route = null;
  for (const r of ROUTES) { match = path.match(r[0]); if (match) { route = r; break; } }
  if (!route) { navigate('/', { replace: true }); return; }
  const opts = route[2] || {};
  if (!opts.public && !session()) { navigate(`/signin?next=${encodeURIComponent(path)}`, { replace: true }); return; }
  if (!isNavigation && !force && currentRoute === route && !opts.live) return; // keep a half-filled form intact
  // counted only for renders that draw: a skipped one must not cancel one in flight
  const seq = ++renderSeq;
  const focusedId = document.activeElement && document.activeElement.id;
  if (isNavigation) navPending = true;
  const node = await route[1](match);
  if (seq !== renderSeq) return; // a newer render started meanwhile
  // a data re-render that overtook a navigation still is that navigation (focus, title)
  isNavigation = isNavigation || navPending;
  navPending = false;
  currentRoute = route;
  const main = document.getElementById('main');
  main.replaceChildren(node);
  renderNav(path);
  const h1 = main.querySelector('h1');
  document.title = `${h1 ? h1.textContent : ''} — ${t('app.name')}`;
  if (h1) h1.tabIndex = -1;
  if (isNavigation && booted) {
    // after an in-app navigation, start reading at the new view (not on first load: the skip link comes first)
    if (h1) h1.focus();
  } else if (focusedId) {
    const el = document.getElementById(focusedId);
    if (el) el.focus();
  }
}

function renderNav(path) {
  const nav = document.getElementById('nav');
  nav.hidden = false;
  nav.setAttribute('aria-label', t('nav.label'));
  nav.replaceChildren(h('ul', {}, (session() ? NAV : PUBLIC_NAV).map(([href, key]) => h('li', {},
    h('a', { href, 'aria-current': path === href || path.startsWith(`${href}/`) ? 'page' : null }, t(key))))));
}

function translateShell() {
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  showCity();
  document.getElementById('lang-select').value = lang();
  if (!document.getElementById('update').hidden && waitingWorker) offerUpdate(waitingWorker);
  return updateIndicator();
}

// showCity names the city in the header (from the catalogue, cached offline) with its arms.
function showCity() {
  const c = app.catalog && app.catalog.city;
  const name = document.getElementById('city-name');
  const arms = document.getElementById('city-arms');
  if (!c || !name || !arms) return;
  name.textContent = c.name;
  name.hidden = false;
  // offline before the image was ever loaded: no broken-image icon
  arms.addEventListener('error', () => { arms.hidden = true; }, { once: true });
  if (c.arms && arms.getAttribute('src') !== c.arms) arms.src = c.arms;
  arms.hidden = !c.arms;
}

/** updateIndicator shows what waits to be sent ("3 requests waiting to send"). */
export async function updateIndicator() {
  const el = document.getElementById('sync-status');
  const bar = document.getElementById('sync-progress');
  bar.setAttribute('aria-label', t('sync.progress'));
  if (!session()) { el.textContent = ''; bar.hidden = true; return; }
  const pend = await sync.pending();
  const st = sync.state;
  let text;
  let kind = 'busy';
  // the percentage goes to a <progress> outside the live region, so screen
  // readers hear "sending photo 2 of 4" once, not every chunk
  bar.hidden = !st.photo;
  if (st.photo) {
    bar.value = st.photo.total ? Math.floor((100 * st.photo.sent) / st.photo.total) : 0;
    text = t('sync.photo', { i: st.photo.i, n: st.photo.n });
  } else if (pend.requests > 0) {
    text = t('sync.waiting', { n: pend.requests });
    if (st.phase === 'offline' || !navigator.onLine) text += ` ${t('sync.offline')}`;
    else if (st.phase === 'error') text += ` ${t('sync.retrying')}`;
    else if (st.phase === 'auth') text += ` ${t('sync.signin')}`;
  } else if (st.phase === 'offline' || !navigator.onLine) {
    text = t('sync.offlineIdle');
  } else {
    text = t('sync.allSent');
    kind = 'ok';
  }
  // avoid re-announcing an identical message on every progress tick
  if (el.textContent !== text) el.textContent = text;
  el.dataset.state = kind;
}

/** signedIn switches to the citizen's own database and starts syncing. */
export async function signedIn(record) {
  useCitizen(record.id);
  if (record.lang !== lang()) saveLang(lang()).catch(() => {});
  startSession();
}

let pushRefreshed = false; // once per app start

function startSession() {
  const s = session();
  if (!s) return;
  if (!pushRefreshed && navigator.onLine) {
    pushRefreshed = true;
    import('./push.js').then((m) => m.refresh()).catch(() => {});
  }
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
  if (navigator.onLine) realtime.connect(s.token, s.record.id, () => sync.kick('poke'));
  sync.kick('start');
}

async function switchLang(l) {
  const main = document.getElementById('main');
  main.setAttribute('aria-busy', 'true'); // until the view is redrawn in the new language
  try {
    await loadLang(l, { remember: true });
    app.catalog = await loadCatalog(lang()).catch(() => app.catalog);
    await translateShell();
    await rerender(true);
  } finally {
    main.removeAttribute('aria-busy');
  }
  if (session()) {
    saveLang(l).catch(() => {});
    import('./push.js').then((m) => m.refresh()).catch(() => {});
  }
}

let waitingWorker = null;

// offerUpdate shows the update banner: a new version waits and takes over only
// on request, then the page reloads, so it never runs a mix of old and new files.
function offerUpdate(w) {
  waitingWorker = w;
  const box = document.getElementById('update');
  box.replaceChildren(h('span', {}, t('update.ready')),
    h('button', { type: 'button', onclick: () => w.postMessage({ type: 'skipWaiting' }) }, t('update.reload')));
  box.hidden = false;
}

function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register('/service-worker.js', { scope: '/' }).then((reg) => {
    if (reg.waiting && navigator.serviceWorker.controller) offerUpdate(reg.waiting);
    reg.addEventListener('updatefound', () => {
      const w = reg.installing;
      w.addEventListener('statechange', () => { if (w.state === 'installed' && navigator.serviceWorker.controller) offerUpdate(w); });
    });
  }).catch((err) => console.warn('service worker:', err.message));
  // the first install's claim is no version change; any later takeover is: reload
  let controlled = !!navigator.serviceWorker.controller;
  let reloading = false;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (!controlled) { controlled = true; return; }
    if (!reloading) { reloading = true; location.reload(); }
  });
  navigator.serviceWorker.addEventListener('message', (e) => {
    if (e.data && e.data.type === 'sync') sync.kick('push');
    if (e.data && e.data.type === 'open' && e.data.url) navigate(e.data.url);
  });
}

async function boot() {
  if (session()) useCitizen(session().record.id);
  await loadLang(detectLang());
  translateShell();
  document.getElementById('lang-select').addEventListener('change', (e) => switchLang(e.target.value));
  document.addEventListener('click', (e) => {
    const a = e.target.closest('a[href]');
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || a.target) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || /^\/(api|_|verify|staff)\//.test(url.pathname) || a.hasAttribute('download')) return;
    e.preventDefault();
    navigate(url.pathname + url.search);
  });
  addEventListener('popstate', () => render(true));
  // signed in or out in another tab: start over with that session's database.
  // Only when the citizen changes: every boot refreshes the token, so two open
  // tabs reloading on any write would reload each other without end.
  let citizen = session()?.record?.id || null;
  onSession((s) => { citizen = s?.record?.id || null; });
  addEventListener('storage', (e) => {
    if (e.key !== 'civicdesk.auth') return;
    let next = null;
    try { next = JSON.parse(e.newValue)?.record?.id || null; } catch { /* unreadable: treat as signed out */ }
    if (next !== citizen) location.reload();
  });
  addEventListener('online', () => { updateIndicator(); startSession(); });
  addEventListener('offline', () => { realtime.disconnect(); updateIndicator(); });
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') sync.kick('visible'); });
  addEventListener('beforeinstallprompt', (e) => { e.preventDefault(); app.installPrompt = e; });
  sync.onChange(({ data }) => { updateIndicator(); if (data) rerender(); });
  onSession((s) => { if (!s) { useCitizen(null); realtime.disconnect(); updateIndicator(); render(true); } });
  registerServiceWorker();
  app.catalog = await loadCatalog(lang()).catch((err) => { console.warn('catalog:', err.message); return null; });
  showCity();
  await render(true);
  booted = true;
  if (session()) {
    startSession();
    refresh().catch((err) => { if (!(err instanceof NetworkError)) console.warn(err); });
  }
}

boot();

