// Character counters for text fields: a pasted text over the limit is never
// cut (no maxlength), the field shows "n of max characters", turns invalid and
// says how much is too much; the limit is enforced again on submit.
import { h, announce } from './dom.js';
import { t } from './i18n.js';

const length = (s) => [...String(s || '')].length; // characters, not UTF-16 units

/**
 * counted attaches a counter to input (a textarea or text input) with limit
 * max, for the field named field. Returns the counter element, to place
 * after the control; its id is added to the control's aria-describedby.
 */
export function counted(input, max, field) {
  const id = `${input.id}-count`;
  const el = h('span', { class: 'counter', id });
  input.setAttribute('aria-describedby', [input.getAttribute('aria-describedby'), id].filter(Boolean).join(' '));
  let wasOver = false;
  const draw = () => {
    const n = length(input.value);
    const over = n - max;
    el.textContent = over > 0 ? t('count.over', { field, n: over }) : t('count.chars', { n, max });
    el.classList.toggle('over', over > 0);
    if (over > 0) input.setAttribute('aria-invalid', 'true');
    else if (wasOver) input.removeAttribute('aria-invalid');
    // say it once when the text crosses the limit (a paste), not on every key
    if (over > 0 && !wasOver) announce(el.textContent);
    wasOver = over > 0;
  };
  input.addEventListener('input', draw);
  draw();
  return el;
}

/** tooLong reports whether s has more than max characters. */
export const tooLong = (s, max) => length(s) > max;
