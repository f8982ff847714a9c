// Small helpers shared by the payment views (fee panel, statements, exceptions):
// money in minor units, the server's 4xx answers shown next to the field they
// name, and a per-form message area.
import { errorText } from '../api.js';
import { t, lang } from '../i18n.js';
import { h, announce } from '/app/dom.js';

/** money formats an amount in minor units (every currency the city takes has 2 decimals). */
export function money(minor, currency) {
  const n = Number(minor || 0) / 100;
  try {
    return new Intl.NumberFormat(lang(), { style: 'currency', currency: currency || 'EUR' }).format(n);
  } catch {
    return `${currency || ''} ${n.toFixed(2)}`.trim();
  }
}

/** amountInput normalises a typed amount ("12,50" → "12.50") for the server's parser. */
export const amountInput = (s) => String(s || '').trim().replace(/\s/g, '').replace(',', '.');

/**
 * showErrors puts a failed call's message on screen: for each field the server
 * names in `data`, the message goes under that field (aria-invalid, linked with
 * aria-describedby) and into the summary, prefixed with the field's label; other
 * errors go to the summary alone. fields maps the server's field names to inputs.
 */
export function showErrors(summary, err, fields = {}) {
  clearErrors(summary, fields);
  const data = err?.response?.data || err?.data || {};
  const named = Object.entries(data).filter(([, v]) => v && typeof v === 'object' && v.message);
  const items = [];
  for (const [k, v] of named) {
    const input = fields[k];
    const label = input ? labelOf(input) : k;
    if (input) {
      const id = `${input.id}-err`;
      // aria-invalid belongs on form controls; a named group (the questions, the actions) gets the message only
      if (['INPUT', 'SELECT', 'TEXTAREA'].includes(input.tagName)) input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', [input.getAttribute('aria-describedby'), id].filter(Boolean).join(' '));
      input.insertAdjacentElement('afterend', h('p', { class: 'err', id, 'data-field-error': k }, t('pay.fieldRefused', { field: label, message: v.message })));
    }
    items.push(h('li', {}, input ? h('a', { href: `#${input.id}`, onclick: (e) => { e.preventDefault(); input.focus(); } }, t('pay.fieldRefused', { field: label, message: v.message })) : t('pay.fieldRefused', { field: label, message: v.message })));
  }
  const status = err?.status ?? 0;
  const lead = status >= 400 && status < 500 ? t('pay.refused', { status }) : '';
  if (!items.length) items.push(h('li', {}, [lead, errorText(err)].filter(Boolean).join(' ')));
  else if (err?.response?.message) items.unshift(h('li', {}, [lead, err.response.message].filter(Boolean).join(' ')));
  summary.replaceChildren(h('ul', {}, items));
  summary.hidden = false;
  summary.focus();
  announce(summary.textContent);
}

/** clearErrors removes the messages showErrors added. */
export function clearErrors(summary, fields = {}) {
  summary.replaceChildren();
  summary.hidden = true;
  for (const input of Object.values(fields)) {
    if (!input) continue;
    input.removeAttribute('aria-invalid');
    const id = `${input.id}-err`;
    document.getElementById(id)?.remove();
    const rest = (input.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && x !== id).join(' ');
    if (rest) input.setAttribute('aria-describedby', rest); else input.removeAttribute('aria-describedby');
  }
}

function labelOf(input) {
  const l = input.id ? document.querySelector(`label[for="${CSS.escape(input.id)}"]`) : null;
  return (l?.textContent || input.getAttribute('aria-label') || input.name || input.id || '').trim();
}

/** errorBox is the summary a form's errors go to (focusable, announced). */
export const errorBox = (id) => h('div', { class: 'summary', id, tabindex: '-1', role: 'alert', hidden: true });

/** subnav links the payment views to each other. */
export function subnav(current) {
  const links = [['statements', '#/payments/statements', 'pay.nav.statements'], ['exceptions', '#/payments/exceptions', 'pay.nav.exceptions']];
  return h('nav', { class: 'tabs', 'aria-label': t('pay.nav.label') }, h('ul', {}, links.map(([k, href, key]) => h('li', {},
    h('a', { href, 'aria-current': k === current ? 'page' : null }, t(key))))));
}
