// Tiny DOM helpers: the app renders with plain elements (no framework, no build).

/**
 * h creates an element. attrs: plain attributes, plus `on*` functions as event
 * listeners, `class`, and boolean attributes (true adds, false/null/undefined omits).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' && 'value' in el) el.value = v;
    else if (k === 'checked' || k === 'selected') el[k] = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** announce reads a message to screen readers through the assertive live region. */
export function announce(msg) {
  const el = document.getElementById('announcer');
  if (!el) return;
  el.textContent = '';
  // a fresh text node after a tick makes screen readers repeat identical messages
  setTimeout(() => { el.textContent = msg; }, 50);
}
