// Receipts wallet: each receipt's QR (the server's PNG, cached in IndexedDB for
// offline display) with number, date and service as text, and a link to /verify/.
import { h } from '../dom.js';
import { t, fmtDate } from '../i18n.js';
import { get, getAll } from '../db.js';
import { serviceName } from './requests.js';

const KINDS = ['received', 'resolved', 'payment', 'refund'];
let urls = [];

/** receiptCard renders one receipt (QR from the cache, facts as text); req is its request row. */
export async function receiptCard(r, req, { heading = 'h2', link = true } = {}) {
  const qr = await get('qr', r.id);
  const number = req.number || r.number || '';
  let img;
  if (qr && qr.data) {
    const u = URL.createObjectURL(new Blob([qr.data], { type: qr.type }));
    urls.push(u);
    img = h('img', { class: 'qr', src: u, alt: t('rc.qrAlt', { number }), width: 280, height: 280 });
  } else {
    img = h('p', { class: 'note warn' }, t('rc.qrOffline'));
  }
  const title = `${KINDS.includes(r.kind) ? t(`rc.kind.${r.kind}`) : r.kind} — ${number}`;
  const filed = req.reported_at || '';
  return h('li', { class: 'receipt', id: `receipt-${r.id}` },
    h(heading, {}, title),
    img,
    h('dl', { class: 'facts' },
      h('dt', {}, t('req.number')), h('dd', {}, number),
      h('dt', {}, t('rc.certifiesTime')), h('dd', { class: 'rc-issued' }, fmtDate(r.issued_at || r.created)),
      filed && r.kind === 'received' ? [h('dt', {}, t('rc.filedDevice')), h('dd', { class: 'rc-filed' }, fmtDate(filed))] : null,
      h('dt', {}, t('req.service')), h('dd', {}, serviceName(req) || r.service || ''),
      r.revoked ? [h('dt', {}, t('rc.revoked')), h('dd', {}, r.revoked_reason || t('file.yes'))] : null),
    h('p', { class: 'muted' }, t('rc.certifiesNote')),
    r.code ? h('details', {}, h('summary', {}, t('rc.code')), h('p', { class: 'code-text' }, r.code)) : null,
    link && req.id ? h('p', {}, h('a', { href: `/requests/${req.id}` }, t('rc.openRequest'))) : null);
}

/** releaseURLs frees the QR object URLs of the previous render. */
export function releaseURLs() {
  for (const u of urls) URL.revokeObjectURL(u);
  urls = [];
}

/** receiptsView lists every receipt, newest first. */
export async function receiptsView() {
  releaseURLs();
  const receipts = await getAll('receipts');
  receipts.sort((a, b) => String(b.issued_at || b.created || '').localeCompare(String(a.issued_at || a.created || '')));
  const section = h('section', {}, h('h1', {}, t('rc.title')));
  if (!receipts.length) {
    section.append(h('p', {}, t('rc.empty')));
  } else {
    const items = [];
    for (const r of receipts) items.push(await receiptCard(r, (await get('requests', r.request)) || {}));
    section.append(h('ul', { class: 'cards' }, items));
  }
  section.append(h('p', {}, h('a', { href: '/verify/' }, t('rc.verify'))));
  return section;
}
