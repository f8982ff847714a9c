// Response templates per service × status × language, managed by supervisors
// (records API on response_templates; the server refuses unknown placeholders,
// naming `body`).
import { pb, errorText, loadCatalogue, nameOf } from '../api.js';
import { t, lang, LANGS } from '../i18n.js';
import { h, announce } from '/app/dom.js';

const STATUSES = ['received', 'in_progress', 'waiting_citizen', 'resolved', 'rejected'];
const PLACEHOLDERS = '{number} {service} {due} {status} {city}';

/** render lists the templates with a form to add or change one. */
export async function render(main) {
  const L = lang();
  const cat = await loadCatalogue();
  const list = h('tbody', { id: 'tpl-rows' });
  const err = h('div', { class: 'summary', id: 'tpl-error', tabindex: '-1', role: 'alert' });
  let editing = null;
  const f = {
    service: h('select', { id: 'tpl-service' }, h('option', { value: '' }, t('tplm.allServices')), cat.services.map((s) => h('option', { value: s.id }, nameOf(s, L)))),
    status: h('select', { id: 'tpl-status' }, h('option', { value: '' }, t('tplm.anyStatus')), STATUSES.map((s) => h('option', { value: s }, t(`status.${s}`)))),
    lang: h('select', { id: 'tpl-lang' }, LANGS.map((l) => h('option', { value: l, selected: l === L }, t(`langName.${l}`)))),
    title: h('input', { type: 'text', id: 'tpl-title', maxlength: 200, required: true }),
    body: h('textarea', { id: 'tpl-body', maxlength: 2000, rows: 5, required: true, 'aria-describedby': 'tpl-body-hint' }),
  };
  const heading = h('h2', { id: 'tpl-form-title' }, t('tplm.new'));

  async function load() {
    try {
      const items = await pb.collection('response_templates').getFullList({ sort: 'title,lang', batch: 500 });
      list.replaceChildren(...items.map((tp) => h('tr', { 'data-id': tp.id },
        h('td', {}, tp.title), h('td', {}, tp.service ? nameOf(cat.serviceById.get(tp.service), L) : t('tplm.allServices')),
        h('td', {}, tp.status ? t(`status.${tp.status}`) : t('tplm.anyStatus')), h('td', {}, tp.lang),
        h('td', {}, h('button', { type: 'button', class: 'secondary', onclick: () => edit(tp) }, t('tplm.edit', { title: tp.title })), ' ',
          h('button', { type: 'button', class: 'danger', onclick: () => remove(tp) }, t('tplm.delete', { title: tp.title }))))));
    } catch (e) {
      list.replaceChildren(h('tr', {}, h('td', { colspan: 5 }, errorText(e))));
    }
  }
  function edit(tp) {
    editing = tp;
    f.service.value = tp.service || '';
    f.status.value = tp.status || '';
    f.lang.value = tp.lang;
    f.title.value = tp.title;
    f.body.value = tp.body;
    heading.textContent = t('tplm.editing', { title: tp.title });
    f.title.focus();
  }
  async function remove(tp) {
    try { await pb.collection('response_templates').delete(tp.id); announce(t('tplm.deleted')); await load(); } catch (e) { err.replaceChildren(h('p', {}, errorText(e))); err.focus(); }
  }
  async function save(e) {
    e.preventDefault();
    const body = { service: f.service.value, status: f.status.value, lang: f.lang.value, title: f.title.value.trim(), body: f.body.value.trim() };
    if (!body.title || !body.body) { err.replaceChildren(h('p', {}, t('tplm.needBoth'))); err.focus(); return; }
    try {
      if (editing) await pb.collection('response_templates').update(editing.id, body);
      else await pb.collection('response_templates').create(body);
      err.replaceChildren();
      announce(t('tplm.saved'));
      editing = null;
      heading.textContent = t('tplm.new');
      f.title.value = '';
      f.body.value = '';
      await load();
    } catch (e2) {
      err.replaceChildren(h('p', {}, errorText(e2)));
      err.focus();
    }
  }

  main.replaceChildren(h('h1', { tabindex: '-1' }, t('tplm.title')),
    h('table', {}, h('caption', { class: 'sr-only' }, t('tplm.title')),
      h('thead', {}, h('tr', {}, ['tplm.colTitle', 'tplm.colService', 'tplm.colStatus', 'tplm.colLang', 'tplm.colActions'].map((k) => h('th', { scope: 'col' }, t(k))))), list),
    h('form', { id: 'tpl-form', novalidate: true, onsubmit: save }, heading, err,
      h('div', { class: 'row2' },
        h('div', {}, h('label', { for: 'tpl-service' }, t('tplm.service')), f.service),
        h('div', {}, h('label', { for: 'tpl-status' }, t('tplm.status')), f.status),
        h('div', {}, h('label', { for: 'tpl-lang' }, t('tplm.lang')), f.lang)),
      h('label', { for: 'tpl-title' }, t('tplm.titleLabel')), f.title,
      h('label', { for: 'tpl-body' }, t('tplm.body')), h('p', { class: 'hint', id: 'tpl-body-hint' }, t('tplm.placeholders', { list: PLACEHOLDERS })), f.body,
      h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'tpl-save' }, t('tplm.save')))));
  await load();
  return {};
}
