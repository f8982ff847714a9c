// Translations of the staff console: one module per language, loaded on demand.
// The same shape as the citizen app's i18n (pb_public/app/i18n.js) with the
// console's own catalogue; the staff member's choice is kept on this device and
// on their staff record (mails and one-time codes follow it).

/** LANGS are the languages offered, in the order of the switch. */
export const LANGS = ['it', 'en', 'sv', 'et', 'hu'];
const LANG_KEY = 'civicdesk.staff.lang';
let strings = {};
let current = 'en';

/** detectLang picks the saved language or the best match from navigator.languages. */
export function detectLang(saved = localStorage.getItem(LANG_KEY), prefs = navigator.languages || [navigator.language]) {
  if (LANGS.includes(saved)) return saved;
  for (const tag of prefs || []) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (LANGS.includes(base)) return base;
  }
  return 'it';
}

/** loadLang loads a language's strings, makes it current and sets <html lang>. */
export async function loadLang(lang, { remember = false } = {}) {
  if (!LANGS.includes(lang)) lang = 'it';
  const mod = await import(`./lang/${lang}.js`);
  strings = mod.default;
  current = lang;
  document.documentElement.lang = lang;
  if (remember) localStorage.setItem(LANG_KEY, lang);
  return lang;
}

/** lang returns the current language. */
export const lang = () => current;

/** has reports whether key exists in the current catalogue. */
export const has = (key) => strings[key] !== undefined;

/**
 * t translates key, filling {name} placeholders from params. Plural entries are
 * objects {one, other} chosen by params.n with Intl.PluralRules.
 */
export function t(key, params = {}) {
  let s = strings[key];
  if (s === undefined) {
    console.error(`i18n: missing ${current}.${key}`);
    return key;
  }
  if (typeof s === 'object') s = s[new Intl.PluralRules(current).select(params.n ?? 0)] ?? s.other;
  return s.replace(/\{(\w+)\}/g, (m, k) => (params[k] === undefined ? m : String(params[k])));
}

/** loc picks the current language from a localized value ({it: "...", en: "..."} or a string). */
export function loc(v, l = current) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  return v[l] ?? v.en ?? v.it ?? Object.values(v)[0] ?? '';
}

const toDate = (v) => new Date(typeof v === 'string' ? v.replace(' ', 'T') : v);

/** fmtDate formats an RFC 3339 / PocketBase date for the current language. */
export function fmtDate(v, withTime = true) {
  if (!v) return '';
  const d = toDate(v);
  if (Number.isNaN(d.getTime())) return String(v);
  return new Intl.DateTimeFormat(current, withTime ? { dateStyle: 'medium', timeStyle: 'short' } : { dateStyle: 'medium' }).format(d);
}

/**
 * fmtSpan says how long ms is in words ("2 days", "3 hours", "12 minutes"),
 * the largest unit only: a clerk scans it, it need not be exact.
 */
export function fmtSpan(ms) {
  const abs = Math.abs(ms);
  const units = [['day', 86400000], ['hour', 3600000], ['minute', 60000]];
  for (const [unit, size] of units) {
    if (abs >= size || unit === 'minute') {
      const n = Math.max(1, Math.floor(abs / size));
      return new Intl.NumberFormat(current, { style: 'unit', unit, unitDisplay: 'long' }).format(n);
    }
  }
  return '';
}

/** toTime parses a server date (RFC 3339 or PocketBase's "YYYY-MM-DD hh:mm:ss.sssZ"); NaN when empty. */
export const toTime = (v) => (v ? toDate(v).getTime() : NaN);
