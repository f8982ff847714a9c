// Supervisor: the list of consultations (docs/consultations.md), each with its
// phase — draft, scheduled, open, closed, published — and its times in the
// consultation's own zone; "New consultation" opens the editor.
import { pb } from '../api.js';
import { t, loc } from '../i18n.js';
import { h } from '/app/dom.js';

/** phase is the consultation's state now: drafts and published as stored, else by the clock (as the server judges). */
export function phase(c, now = Date.now()) {
  if (c.status === 'draft' || c.status === 'published') return c.status;
  const o = Date.parse(String(c.opens_at || '').replace(' ', 'T'));
  const cl = Date.parse(String(c.closes_at || '').replace(' ', 'T'));
  if (!Number.isNaN(o) && now < o) return 'scheduled';
  if (!Number.isNaN(cl) && now < cl) return 'open';
  return 'closed';
}

/** localText shows a stored wall-clock time ("2026-03-29T23:59") with its zone. */
export const localText = (s, zone) => (s ? `${s.replace('T', ' ')} (${zone || ''})`.replace(' ()', '') : '—');

/** render lists the consultations, newest first. */
export async function render(main) {
  const rows = h('tbody', { id: 'cons-rows' });
  const status = h('p', { id: 'cons-status', role: 'status', class: 'hint' }, t('loading'));
  main.replaceChildren(h('h1', { tabindex: '-1' }, t('cons.title')),
    h('p', { class: 'hint' }, t('cons.intro')),
    h('div', { class: 'actions' }, h('a', { class: 'button', href: '#/consultations/new', id: 'cons-new' }, t('cons.new'))),
    h('div', { class: 'table-wrap' }, h('table', { id: 'cons-list' }, h('caption', { class: 'sr-only' }, t('cons.title')),
      h('thead', {}, h('tr', {}, ['cons.col.title', 'cons.col.code', 'cons.col.phase', 'cons.col.opens', 'cons.col.closes'].map((k) => h('th', { scope: 'col' }, t(k))))),
      rows)),
    status);
  try {
    const list = await pb.collection('consultations').getFullList({ sort: '-created', batch: 200, fields: 'id,code,title,status,time_zone,opens_local,closes_local,opens_at,closes_at' });
    rows.replaceChildren(...list.map((c) => h('tr', { 'data-id': c.id, 'data-phase': phase(c) },
      h('th', { scope: 'row' }, h('a', { href: `#/consultations/${c.id}` }, loc(c.title) || c.code)),
      h('td', { class: 'mono' }, c.code),
      h('td', {}, h('span', { class: 'status' }, t(`cons.phase.${phase(c)}`))),
      h('td', {}, localText(c.opens_local, c.time_zone)),
      h('td', {}, localText(c.closes_local, c.time_zone)))));
    status.textContent = list.length ? '' : t('cons.none');
  } catch (err) {
    status.textContent = err?.message || String(err);
  }
  return {};
}
