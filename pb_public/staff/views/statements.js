// Supervisor: bank statements (docs/payments.md §6). Import a camt.053/054 file
// (POST /api/payments/statements, multipart field `file`) with progress while it
// uploads and while the server matches it (one transaction, all or nothing), the
// result line by line, and the list of past imports (payment_statements).
import { pb } from '../api.js';
import { t, has, fmtDate } from '../i18n.js';
import { h, announce } from '/app/dom.js';
import { money, showErrors, clearErrors, errorBox, subnav } from './money.js';
import { badgeSlot } from './platforms.js';

const PAGE = 30;
const MAX_ITEMS_SHOWN = 500;

/**
 * upload sends the file with XMLHttpRequest (fetch reports no upload progress):
 * onProgress(fraction) while the bytes go, then onSent() while the server works.
 * Resolves with the JSON answer; rejects with {status, response} like the SDK.
 */
export function upload(file, { onProgress, onSent }) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/payments/statements');
    xhr.setRequestHeader('Authorization', pb.authStore.token);
    xhr.responseType = 'json';
    xhr.upload.addEventListener('progress', (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); });
    xhr.upload.addEventListener('load', () => onSent());
    xhr.addEventListener('load', () => {
      const body = xhr.response || {};
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(Object.assign(new Error(body.message || `HTTP ${xhr.status}`), { status: xhr.status, response: body }));
    });
    xhr.addEventListener('error', () => reject(Object.assign(new Error('network'), { status: 0, response: {} })));
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
}

/** render draws the statements view. */
export async function render(main) {
  const input = h('input', { type: 'file', id: 'stmt-file', accept: '.xml,application/xml,text/xml', 'aria-describedby': 'stmt-hint' });
  const err = errorBox('stmt-error');
  const progress = h('progress', { id: 'stmt-progress', max: 100, 'aria-labelledby': 'stmt-progress-label' });
  const progressLabel = h('span', { id: 'stmt-progress-label' });
  const progressBox = h('div', { class: 'progress', id: 'stmt-progress-box', hidden: true }, progressLabel, progress);
  const result = h('section', { id: 'stmt-result', 'aria-labelledby': 'stmt-result-title', hidden: true, tabindex: '-1' });
  const rows = h('tbody', { id: 'stmt-rows' });
  const listStatus = h('p', { id: 'stmt-list-status', role: 'status', class: 'hint' });
  const more = h('button', { type: 'button', class: 'secondary', id: 'stmt-more', hidden: true, onclick: () => loadList(true) }, t('pay.more'));
  const submit = h('button', { type: 'submit', id: 'stmt-submit' }, t('stmt.import'));
  let page = 0;
  let timer = null;

  async function importFile(e) {
    e.preventDefault();
    clearErrors(err, { file: input });
    const file = input.files?.[0];
    if (!file) { showErrors(err, { status: 400, response: { data: { file: { message: t('stmt.chooseFile') } } } }, { file: input }); return; }
    submit.disabled = true;
    result.hidden = true;
    progressBox.hidden = false;
    progress.value = 0;
    progressLabel.textContent = t('stmt.uploading', { pct: 0 });
    announce(t('stmt.uploadingStart'));
    const started = Date.now();
    try {
      const res = await upload(file, {
        onProgress: (f) => { progress.value = Math.round(f * 100); progressLabel.textContent = t('stmt.uploading', { pct: Math.round(f * 100) }); },
        onSent: () => {
          progress.removeAttribute('value'); // indeterminate: the server matches every line in one transaction
          const tick = () => { progressLabel.textContent = t('stmt.importing', { s: Math.round((Date.now() - started) / 1000) }); };
          tick();
          announce(t('stmt.importingStart'));
          timer = setInterval(tick, 1000);
        },
      });
      showResult(res, file.name);
      input.value = '';
      await loadList(false);
    } catch (ex) {
      showErrors(err, ex, { file: input });
    } finally {
      clearInterval(timer);
      progressBox.hidden = true;
      submit.disabled = false;
    }
  }

  function showResult(res, name) {
    const title = h('h2', { id: 'stmt-result-title' }, res.duplicate ? t('stmt.duplicateTitle', { name }) : t('stmt.resultTitle', { name }));
    const n = (k) => Number(res[k] || 0);
    const items = (res.items || []).slice(0, MAX_ITEMS_SHOWN);
    result.replaceChildren(...[title,
      res.duplicate ? h('p', { class: 'note warn', id: 'stmt-duplicate' }, t('stmt.duplicate')) : h('dl', { class: 'counts-dl', id: 'stmt-counts' },
        ['lines', 'matched', 'exceptions', 'pending', 'ignored', 'reversals', 'alreadyImported'].map((k) => [h('dt', {}, t(`stmt.count.${k}`)), h('dd', { id: `stmt-${k}` }, String(n(k)))])),
      n('exceptions') ? h('p', {}, h('a', { href: '#/payments/exceptions', id: 'stmt-to-exceptions' }, t('stmt.toExceptions', { n: n('exceptions') }))) : null,
      items.length ? h('div', { class: 'table-wrap' }, h('table', { id: 'stmt-items' },
        h('caption', {}, t('stmt.itemsCaption', { n: (res.items || []).length })),
        h('thead', {}, h('tr', {}, ['stmt.col.outcome', 'stmt.col.amount', 'stmt.col.reference', 'stmt.col.exception'].map((k) => h('th', { scope: 'col' }, t(k))))),
        h('tbody', {}, items.map((it) => h('tr', { 'data-outcome': it.outcome },
          h('th', { scope: 'row' }, has(`outcome.${it.outcome}`) ? t(`outcome.${it.outcome}`) : it.outcome),
          h('td', {}, money(it.amount, it.currency)),
          h('td', { class: 'mono' }, it.reference || '—'),
          h('td', {}, it.exception ? (has(`exc.${it.exception}`) ? t(`exc.${it.exception}`) : it.exception) : '', it.detail ? h('span', { class: 'hint' }, ` ${it.detail}`) : '')))))) : null].filter(Boolean));
    result.hidden = false;
    result.focus();
    announce(res.duplicate ? t('stmt.duplicate') : t('stmt.done', { matched: n('matched'), exceptions: n('exceptions') }));
  }

  async function loadList(append) {
    listStatus.textContent = t('loading');
    try {
      page = append ? page + 1 : 1;
      const r = await pb.collection('payment_statements').getList(page, PAGE, { sort: '-created', skipTotal: true });
      const trs = r.items.map((s) => h('tr', { 'data-id': s.id },
        h('td', {}, fmtDate(s.created)),
        h('th', { scope: 'row' }, s.file_name || s.statement_id || s.msg_id || s.id),
        h('td', {}, s.format), h('td', { class: 'mono' }, s.iban),
        h('td', {}, String(s.entries)), h('td', {}, String(s.matched)), h('td', {}, String(s.exceptions)), h('td', {}, String(s.ignored))));
      if (append) rows.append(...trs); else rows.replaceChildren(...trs);
      more.hidden = r.items.length < PAGE;
      listStatus.textContent = rows.children.length ? '' : t('stmt.none');
    } catch (ex) {
      listStatus.textContent = ex?.message || String(ex);
    }
  }

  main.replaceChildren(h('h1', { tabindex: '-1' }, t('stmt.title')), subnav('statements'), badgeSlot('stmt-test-modes'),
    h('form', { id: 'stmt-form', class: 'panel', novalidate: true, onsubmit: importFile },
      h('h2', {}, t('stmt.importTitle')), err,
      h('label', { for: 'stmt-file' }, t('stmt.file')), h('p', { class: 'hint', id: 'stmt-hint' }, t('stmt.hint')), input,
      h('div', { class: 'actions' }, submit), progressBox),
    result,
    h('h2', {}, t('stmt.past')),
    h('div', { class: 'table-wrap' }, h('table', { id: 'stmt-list' },
      h('caption', { class: 'sr-only' }, t('stmt.past')),
      h('thead', {}, h('tr', {}, ['stmt.col.imported', 'stmt.col.file', 'stmt.col.format', 'stmt.col.account', 'stmt.col.lines', 'stmt.col.matched', 'stmt.col.exceptions', 'stmt.col.ignored'].map((k) => h('th', { scope: 'col' }, t(k))))),
      rows)),
    listStatus, more);
  await loadList(false);
  return { destroy() { clearInterval(timer); } };
}
