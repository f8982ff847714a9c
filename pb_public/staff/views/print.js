// The receipt to hand over at the counter: number, service, date and the signed
// QR code (GET /api/mobile/receipts/{id}/qr.png, staff allowed), printable.
import { send, errorText, blobURL } from '../api.js';
import { t, fmtDate, loc } from '../i18n.js';
import { h } from '/app/dom.js';

/** render draws the print view of request params.id. */
export async function render(main, params) {
  let d;
  try {
    d = await send(`/api/staff/requests/${params.id}`);
  } catch (err) {
    main.replaceChildren(h('h1', { tabindex: '-1' }, t('print.title')), h('p', { class: 'note bad' }, errorText(err)));
    return {};
  }
  const r = d.request;
  const rc = (d.receipts || []).find((x) => x.kind === 'received') || (d.receipts || [])[0];
  const svc = typeof r.service === 'object' && r.service ? (r.service.name || loc(r.service.i18n?.name)) : '';
  const qr = h('div', { id: 'print-qr' });
  const urls = [];
  main.replaceChildren(
    h('div', { class: 'actions no-print' },
      h('button', { type: 'button', id: 'print-now', onclick: () => print() }, t('print.print')),
      h('a', { class: 'button secondary', href: `#/queue/open/${r.id}` }, t('print.toFile'))),
    h('div', { class: 'print-sheet' },
      h('h1', { tabindex: '-1' }, t('print.heading', { number: r.number })),
      h('dl', {},
        h('dt', {}, t('file.service')), h('dd', {}, svc),
        h('dt', {}, t('file.created')), h('dd', {}, fmtDate(r.created)),
        r.due_at ? [h('dt', {}, t('file.due')), h('dd', {}, fmtDate(r.due_at))] : null),
      qr,
      h('p', {}, t('print.explain')),
      rc ? h('p', { class: 'hint' }, t('print.code'), ' ', h('code', { id: 'print-code' }, rc.code)) : null));
  if (rc) {
    try {
      const u = await blobURL(`/api/mobile/receipts/${rc.id}/qr.png`);
      urls.push(u);
      qr.append(h('img', { class: 'qr', src: u, alt: t('print.qrAlt', { number: r.number }), width: 240, height: 240 }));
    } catch (err) {
      qr.append(h('p', { class: 'note warn' }, t('print.noQR'), ' ', errorText(err)));
    }
  } else {
    qr.append(h('p', { class: 'note warn' }, t('print.noReceipt')));
  }
  return { destroy() { for (const u of urls) URL.revokeObjectURL(u); } };
}
