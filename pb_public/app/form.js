// A service's form, generated from its schema (CONTRACT §2 "Form schema"):
// datatypes string, number, datetime, text, singlevaluelist, multivaluelist,
// boolean; labels may be {lang: text} maps; min/max/maxLength/pattern/integer.
import { h } from './dom.js';
import { t, loc } from './i18n.js';
import { counted } from './counter.js';

const LIST_AS_RADIOS = 6;
// the server's limits when a field has no maxLength (workflow.DefaultStringMax / DefaultTextMax)
const STRING_MAX = 255;
const TEXT_MAX = 5000;

/** maxLen is a text field's character limit. */
export const maxLen = (f) => f.maxLength || (f.datatype === 'text' ? TEXT_MAX : STRING_MAX);

/** fieldId is the DOM id of a schema field's control. */
export const fieldId = (code) => `f-${code}`;

function isEmpty(v) {
  return v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);
}

/**
 * validateAnswers checks values (as the controls hold them) against the
 * schema; returns [{code, message}] with messages that name the field.
 */
export function validateAnswers(fields, values, lang) {
  const errors = [];
  for (const f of fields) {
    const field = loc(f.label, lang) || f.code;
    const v = values[f.code];
    const add = (key, extra = {}) => errors.push({ code: f.code, message: t(key, { field, ...extra }) });
    if (isEmpty(v)) {
      if (f.required) add('err.required');
      continue;
    }
    switch (f.datatype) {
      case 'number': {
        const n = Number(String(v).replace(',', '.'));
        if (!Number.isFinite(n)) { add('err.number'); break; }
        if (f.integer && !Number.isInteger(n)) { add('err.integer'); break; }
        if (typeof f.min === 'number' && n < f.min) add('err.min', { min: f.min });
        else if (typeof f.max === 'number' && n > f.max) add('err.max', { max: f.max });
        break;
      }
      case 'datetime':
        if (Number.isNaN(new Date(v).getTime())) add('err.datetime');
        break;
      case 'string':
      case 'text':
        if ([...String(v)].length > maxLen(f)) add('err.maxLength', { max: maxLen(f) });
        else if (f.pattern && !new RegExp(f.pattern).test(String(v))) add('err.pattern');
        break;
      case 'singlevaluelist':
        if (!(f.values || []).some((o) => o.key === v)) add('err.required');
        break;
      case 'multivaluelist':
        if (!v.every((k) => (f.values || []).some((o) => o.key === k))) add('err.required');
        break;
      default:
        break;
    }
  }
  return errors;
}

/** toAnswers converts control values to the typed answers the server expects. */
export function toAnswers(fields, values) {
  const out = {};
  for (const f of fields) {
    const v = values[f.code];
    if (isEmpty(v)) continue;
    switch (f.datatype) {
      case 'number': out[f.code] = Number(String(v).replace(',', '.')); break;
      case 'datetime': out[f.code] = new Date(v).toISOString(); break;
      case 'boolean': out[f.code] = v === 'true'; break;
      case 'multivaluelist': out[f.code] = [...v]; break;
      default: out[f.code] = String(v);
    }
  }
  return out;
}

/**
 * renderField builds one labelled control. values is the mutable draft
 * (kept across re-renders, e.g. a language switch); errors maps code -> message.
 */
export function renderField(f, values, errors) {
  const id = fieldId(f.code);
  const label = loc(f.label) || f.code;
  const desc = loc(f.description);
  const errId = `${id}-err`;
  const hintId = `${id}-hint`;
  const describedBy = [desc ? hintId : '', errId].filter(Boolean).join(' ');
  const invalid = errors[f.code] ? 'true' : null;
  const err = h('p', { class: 'err', id: errId }, errors[f.code] || '');
  const hint = desc ? h('span', { class: 'hint', id: hintId }, desc) : null;
  const req = f.required ? h('span', {}, ` (${t('file.required')})`) : null;
  const set = (v) => { values[f.code] = v; };
  const v = values[f.code];

  const group = (controls) => h('fieldset', { id, tabindex: '-1', 'aria-describedby': describedBy, 'aria-invalid': invalid },
    h('legend', {}, label, req), hint, controls, err);

  switch (f.datatype) {
    case 'singlevaluelist':
      if ((f.values || []).length <= LIST_AS_RADIOS) {
        return group((f.values || []).map((o, i) => h('label', { class: 'choice' },
          h('input', { type: 'radio', name: id, id: `${id}-${i}`, value: o.key, checked: v === o.key, required: !!f.required, onchange: () => set(o.key) }),
          loc(o.name) || o.key)));
      }
      return h('div', {},
        h('label', { for: id }, label, req), hint,
        h('select', { id, required: !!f.required, 'aria-describedby': describedBy, 'aria-invalid': invalid, onchange: (e) => set(e.target.value) },
          h('option', { value: '' }, t('file.choose')),
          (f.values || []).map((o) => h('option', { value: o.key, selected: v === o.key }, loc(o.name) || o.key))),
        err);
    case 'multivaluelist':
      return group((f.values || []).map((o, i) => h('label', { class: 'choice' },
        h('input', {
          type: 'checkbox', id: `${id}-${i}`, value: o.key, checked: Array.isArray(v) && v.includes(o.key),
          onchange: (e) => {
            const cur = new Set(values[f.code] || []);
            if (e.target.checked) cur.add(o.key); else cur.delete(o.key);
            set([...cur]);
          },
        }), loc(o.name) || o.key)));
    case 'boolean':
      return group([['true', t('file.yes')], ['false', t('file.no')]].map(([key, text], i) => h('label', { class: 'choice' },
        h('input', { type: 'radio', name: id, id: `${id}-${i}`, value: key, checked: v === key, onchange: () => set(key) }), text)));
    case 'text': {
      // no maxlength (a paste would be cut silently): a counter and the validation instead
      const ta = h('textarea', { id, required: !!f.required, 'aria-describedby': describedBy, 'aria-invalid': invalid, oninput: (e) => set(e.target.value) }, v || '');
      return h('div', {}, h('label', { for: id }, label, req), hint, ta, counted(ta, maxLen(f), label), err);
    }
    default: {
      const attrs = { id, required: !!f.required, 'aria-describedby': describedBy, 'aria-invalid': invalid, value: v || '', oninput: (e) => set(e.target.value) };
      if (f.datatype === 'number') Object.assign(attrs, { type: 'text', inputmode: f.integer ? 'numeric' : 'decimal', autocomplete: 'off' });
      else if (f.datatype === 'datetime') Object.assign(attrs, { type: 'datetime-local' });
      else Object.assign(attrs, { type: 'text' });
      const input = h('input', attrs);
      return h('div', {}, h('label', { for: id }, label, req), hint, input, f.datatype === 'string' ? counted(input, maxLen(f), label) : null, err);
    }
  }
}
