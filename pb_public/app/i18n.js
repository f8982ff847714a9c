// Translations: one module per language (loaded on demand, all precached).
// The shown language comes from the saved choice, else the browser's
// preferences, else Italian (the demo city's default).

/** LANGS are the languages offered, in the order of the switch. */
export const LANGS = ['it', 'en', 'sv', 'et', 'hu'];
const LANG_KEY = 'civicdesk.lang';
let strings = {};
let current = 'it';

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

/** fmtDate formats an RFC 3339 / PocketBase date for the current language. */
export function fmtDate(v, withTime = true) {
  if (!v) return '';
  const d = new Date(typeof v === 'string' ? v.replace(' ', 'T') : v);
  if (Number.isNaN(d.getTime())) return String(v);
  return new Intl.DateTimeFormat(current, withTime ? { dateStyle: 'medium', timeStyle: 'short' } : { dateStyle: 'medium' }).format(d);
}

/** fmtMoney formats minor units in a currency. */
export function fmtMoney(minor, currency) {
  if (!minor || !currency) return '';
  return new Intl.NumberFormat(current, { style: 'currency', currency }).format(minor / 100);
}
