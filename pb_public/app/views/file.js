// Filing: find a service (search, groups), then its generated form with
// location and photos. Submitting queues the request in IndexedDB.
import { h, announce } from '../dom.js';
import { t, lang, fmtMoney } from '../i18n.js';
import { search, groups } from '../catalog.js';
import { renderField, validateAnswers, toAnswers, fieldId } from '../form.js';
import { resizePhoto, sha256Hex, MAX_PHOTOS } from '../photos.js';
import { fileRequest } from '../sync.js';
import { app, navigate } from '../main.js';
import { session } from '../api.js';
import { counted, tooLong } from '../counter.js';
import { mapPanel, nearbyPanel } from './location.js';

let query = '';
let draft = null; // {code, values, description, address, location, photos: [{data, type, sha256, url}]}
const DESC_MAX = 5000;
const ADDRESS_MAX = 300;

/** servicesView lists the catalogue with a search box and groups. */
export function servicesView() {
  const section = h('section', {}, h('h1', {}, t('file.title')));
  if (!app.catalog) {
    section.append(h('p', { class: 'note warn' }, t('file.catalogOffline')));
    return section;
  }
  const results = h('div', {});
  const count = h('p', { role: 'status', class: 'muted', id: 'search-count' });
  const draw = () => {
    const found = search(app.catalog.services, query);
    count.textContent = query ? t('file.found', { n: found.length }) : '';
    if (!found.length) { results.replaceChildren(h('p', {}, t('file.noResults'))); return; }
    results.replaceChildren(...groups(found).map(([g, list], gi) => h('div', { class: 'group' },
      g ? h('h2', { id: `g-${gi}` }, g) : null,
      h('ul', { class: 'cards', 'aria-labelledby': g ? `g-${gi}` : null }, list.map((s) => h('li', {},
        h('a', { class: 'card', href: `/new/${s.code}` },
          h('span', { class: 'card-title' }, s.name),
          s.description ? h('span', {}, s.description) : null,
          s.fee ? h('span', { class: 'muted' }, ` ${t('file.fee', { amount: fmtMoney(s.fee, s.currency) })}`) : null)))))));
  };
  if (app.catalog.offline) section.append(h('p', { class: 'note' }, t('file.catalogCached')));
  section.append(h('p', {}, h('a', { href: '/public', id: 'to-public' }, t('pub.link'))));
  section.append(
    h('label', { for: 'service-search' }, t('file.search')),
    h('span', { class: 'hint', id: 'service-search-hint' }, t('file.searchHint')),
    h('input', { type: 'search', id: 'service-search', value: query, 'aria-describedby': 'service-search-hint', autocomplete: 'off', oninput: (e) => { query = e.target.value; draw(); } }),
    count, results);
  draw();
  return section;
}

function findService(code) {
  return app.catalog && app.catalog.services.find((s) => s.code === code);
}

/** problems validates the draft: [{id, key, message}] with messages that name the field. */
function problems(svc, d) {
  const list = validateAnswers(svc.fields, d.values, lang()).map((x) => ({ id: fieldId(x.code), key: x.code, message: x.message }));
  if (tooLong(d.description, DESC_MAX)) list.push({ id: 'description', key: 'description', message: t('err.maxLength', { field: t('file.description'), max: DESC_MAX }) });
  if (tooLong(d.address, ADDRESS_MAX)) list.push({ id: 'address', key: 'address', message: t('err.maxLength', { field: t('file.address'), max: ADDRESS_MAX }) });
  if (svc.location === 'required' && !d.location && !d.address.trim()) list.push({ id: 'location', key: 'location', message: t('err.locationRequired') });
  if (svc.photos === 'required' && !d.photos.length) list.push({ id: 'photos', key: 'photos', message: t('err.photoRequired') });
  return list;
}

/** formView renders the service's form; the draft survives re-renders (language switch). */
export function formView(code) {
  const svc = findService(code);
  if (!svc) {
    return h('section', {}, h('h1', {}, t('file.title')), h('p', { class: 'note warn' }, t(app.catalog ? 'file.unknownService' : 'file.catalogOffline')),
      h('p', {}, h('a', { href: '/new' }, t('file.back'))));
  }
  if (!draft || draft.code !== code) draft = { code, values: {}, description: '', address: '', location: null, photos: [], errors: {} };
  const d = draft;
  // after a failed submit the messages are rebuilt, so they follow a language switch
  if (d.validated) d.errors = Object.fromEntries(problems(svc, d).map((x) => [x.key, x.message]));
  const summary = h('div', { class: 'summary', tabindex: '-1', id: 'form-summary' });
  const form = h('form', { novalidate: true, id: 'request-form' });
  const errs = d.errors;
  const errP = (id) => h('p', { class: 'err', id: `${id}-err` }, errs[id] || '');

  const fields = svc.fields.map((f) => renderField(f, d.values, errs));

  const descId = 'description';
  // no maxlength: a pasted text is never cut silently; the counter warns instead
  const descTa = h('textarea', { id: descId, 'aria-describedby': `${descId}-hint ${descId}-err`, 'aria-invalid': errs[descId] ? 'true' : null, oninput: (e) => { d.description = e.target.value; } }, d.description);
  const desc = h('div', {},
    h('label', { for: descId }, t('file.description')),
    h('span', { class: 'hint', id: `${descId}-hint` }, t('file.descriptionHint')),
    descTa, counted(descTa, DESC_MAX, t('file.description')),
    errP(descId));

  let loc = null;
  let nearby = null;
  if (svc.location !== 'none') {
    nearby = nearbyPanel(svc, d);
    const posText = h('p', { id: 'position-status', role: 'status' }, d.location ? t('file.positionFound', { lat: d.location.lat.toFixed(5), lon: d.location.lon.toFixed(5), acc: Math.round(d.location.acc || 0) }) : '');
    const useBtn = h('button', { type: 'button', class: 'secondary', id: 'use-position' }, t('file.useMyPosition'));
    useBtn.addEventListener('click', () => {
      if (!navigator.geolocation) { posText.textContent = t('file.positionFailed'); return; }
      posText.textContent = t('file.locating');
      navigator.geolocation.getCurrentPosition((pos) => {
        d.location = { lat: pos.coords.latitude, lon: pos.coords.longitude, acc: pos.coords.accuracy };
        posText.textContent = t('file.positionFound', { lat: d.location.lat.toFixed(5), lon: d.location.lon.toFixed(5), acc: Math.round(pos.coords.accuracy) });
        clearBtn.hidden = false;
        nearby.refresh();
      }, () => { posText.textContent = t('file.positionFailed'); }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
    const clearBtn = h('button', { type: 'button', class: 'linkish', hidden: !d.location, onclick: () => { d.location = null; posText.textContent = ''; clearBtn.hidden = true; useBtn.focus(); } }, t('file.positionClear'));
    const addressInput = h('input', { type: 'text', id: 'address', autocomplete: 'street-address', value: d.address, 'aria-describedby': 'address-err', 'aria-invalid': errs.address ? 'true' : null, oninput: (e) => { d.address = e.target.value; } });
    // the map (loaded on demand) moves the same point the position button sets
    const mp = mapPanel(d, (pt) => {
      d.location = { lat: pt.lat, lon: pt.lon, acc: 0 };
      posText.textContent = t(pt.street ? 'map.pinNear' : 'map.pinAt', { lat: pt.lat.toFixed(5), lon: pt.lon.toFixed(5), street: pt.street });
      clearBtn.hidden = false;
      if (pt.street && !d.address.trim()) { d.address = pt.street; addressInput.value = pt.street; addressInput.dispatchEvent(new Event('input')); }
      nearby.refresh();
    });
    loc = h('fieldset', { id: 'location', tabindex: '-1', 'aria-describedby': 'location-hint location-err', 'aria-invalid': errs.location ? 'true' : null },
      h('legend', {}, t(svc.location === 'required' ? 'file.location' : 'file.locationOptional')),
      h('span', { class: 'hint', id: 'location-hint' }, t('file.locationHint')),
      h('div', { class: 'actions' }, useBtn, mp.button, clearBtn), posText, mp.panel,
      h('label', { for: 'address' }, t('file.address')),
      addressInput, counted(addressInput, ADDRESS_MAX, t('file.address')), errP('address'),
      errP('location'));
  }

  let photos = null;
  if (svc.photos !== 'none') {
    const list = h('ul', { class: 'thumbs', id: 'photo-list' });
    const status = h('p', { role: 'status', id: 'photo-status', class: 'muted' });
    // refusals are errors (read at once), naming the file: not grey status text
    const photoAlert = h('p', { role: 'alert', id: 'photo-alert', class: 'err' });
    const drawList = () => {
      list.replaceChildren(...d.photos.map((ph, i) => h('li', {},
        h('img', { src: ph.url, alt: t('file.photoAlt', { i: i + 1 }) }),
        h('button', { type: 'button', class: 'linkish', onclick: () => { URL.revokeObjectURL(ph.url); d.photos.splice(i, 1); drawList(); announce(t('file.photoRemoved', { i: i + 1 })); document.getElementById('photo-pick').focus(); } }, t('file.removePhoto', { i: i + 1 })))));
      for (const inp of photos.querySelectorAll('input[type=file]')) inp.disabled = d.photos.length >= MAX_PHOTOS;
    };
    const onFiles = async (e) => {
      const files = [...e.target.files];
      e.target.value = '';
      const refused = [];
      for (const file of files) {
        if (d.photos.length >= MAX_PHOTOS) { refused.push(t('err.photoDropped', { n: MAX_PHOTOS, name: file.name })); continue; }
        status.textContent = t('file.preparing');
        try {
          const r = await resizePhoto(file);
          const sha256 = await sha256Hex(r.data);
          d.photos.push({ data: r.data, type: r.type, sha256, url: URL.createObjectURL(new Blob([r.data], { type: r.type })) });
          status.textContent = t('file.photoAdded', { n: d.photos.length, max: MAX_PHOTOS });
        } catch {
          status.textContent = '';
          refused.push(t('err.photoNotImage', { name: file.name }));
        }
      }
      photoAlert.textContent = refused.join(' ');
      drawList();
    };
    const accept = 'image/jpeg,image/png,image/webp';
    photos = h('fieldset', { id: 'photos', tabindex: '-1', 'aria-describedby': 'photos-hint photos-err', 'aria-invalid': errs.photos ? 'true' : null },
      h('legend', {}, t('file.photos'), svc.photos === 'required' ? ` (${t('file.required')})` : null),
      h('span', { class: 'hint', id: 'photos-hint' }, t('file.photosHint', { n: MAX_PHOTOS })),
      h('div', { class: 'actions' },
        h('label', { class: 'button secondary file-btn' }, t('file.takePhoto'),
          h('input', { type: 'file', id: 'photo-camera', accept, capture: 'environment', onchange: onFiles })),
        h('label', { class: 'button secondary file-btn' }, t('file.choosePhoto'),
          h('input', { type: 'file', id: 'photo-pick', accept, multiple: true, onchange: onFiles }))),
      status, photoAlert, list, errP('photos'));
    drawList();
  }

  const submit = h('button', { type: 'submit' }, t('file.submit'));
  form.append(summary, ...fields, desc, loc || '', photos || '', nearby ? nearby.box : '', h('div', { class: 'actions' }, submit));
  if (nearby && d.location) setTimeout(() => nearby.refresh(), 0);

  const showSummary = (list) => {
    summary.replaceChildren(h('h2', {}, t('err.summary')),
      h('ul', {}, list.map((e) => h('li', {}, h('a', { href: `#${e.id}`, onclick: (ev) => { ev.preventDefault(); const el = document.getElementById(e.id); (el.matches('fieldset') ? (el.querySelector('input') || el) : el).focus(); } }, e.message)))));
  };
  if (Object.keys(errs).length) showSummary(Object.entries(errs).map(([k, m]) => ({ id: svc.fields.some((f) => f.code === k) ? fieldId(k) : k, message: m })));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const list = problems(svc, d);
    d.validated = true;
    d.errors = Object.fromEntries(list.map((x) => [x.key, x.message]));
    if (list.length) {
      const fresh = formView(code);
      form.closest('section').replaceWith(fresh);
      const s = fresh.querySelector('#form-summary');
      s.focus();
      announce(`${t('err.summary')} ${list.map((x) => x.message).join(' ')}`);
      return;
    }
    if (!session()) {
      // browsing is open to everyone; sending needs an account (the draft stays in memory)
      navigate(`/signin?next=${encodeURIComponent(`/new/${code}`)}`);
      return;
    }
    submit.disabled = true;
    try {
      const id = await fileRequest({
        service: svc.code, serviceName: svc.name, answers: toAnswers(svc.fields, d.values), description: d.description.trim(),
        location: d.location ? { lat: d.location.lat, lon: d.location.lon } : null, address: d.address.trim(),
        photos: d.photos.map(({ data, type, sha256 }) => ({ data, type, sha256 })),
      });
      for (const ph of d.photos) URL.revokeObjectURL(ph.url);
      draft = null;
      navigate(`/requests/${id}?sent=1`);
    } catch (err) {
      submit.disabled = false;
      summary.replaceChildren(h('p', {}, t('file.saveFailed', { reason: err.message })));
      summary.focus();
    }
  });

  return h('section', {},
    h('p', {}, h('a', { href: '/new' }, t('file.back'))),
    h('h1', {}, svc.name),
    svc.description ? h('p', {}, svc.description) : null,
    svc.fee ? h('p', { class: 'note' }, t('file.fee', { amount: fmtMoney(svc.fee, svc.currency) })) : null,
    h('p', { class: 'muted' }, t('file.requiredNote')),
    session() ? null : h('p', { class: 'note', id: 'signin-to-send' }, t('file.signinToSend')),
    form);
}
