// A photo picker for replies and "not fixed" reports (the filing form has its
// own): camera and gallery buttons, thumbnails with remove buttons, progress
// as a polite status, refusals (not an image, over the limit, named) as an alert.
import { h, announce } from './dom.js';
import { t } from './i18n.js';
import { resizePhoto, sha256Hex } from './photos.js';

/**
 * photoPicker renders a fieldset that fills photos (an array of {data, type,
 * sha256, url}, kept by the caller across re-renders) up to max.
 */
export function photoPicker({ id, legend, max, photos }) {
  const list = h('ul', { class: 'thumbs', id: `${id}-list` });
  const status = h('p', { role: 'status', id: `${id}-status`, class: 'muted' });
  const alert = h('p', { role: 'alert', id: `${id}-alert`, class: 'err' });
  const accept = 'image/jpeg,image/png,image/webp';
  let box;
  const drawList = () => {
    list.replaceChildren(...photos.map((ph, i) => h('li', {},
      h('img', { src: ph.url, alt: t('file.photoAlt', { i: i + 1 }) }),
      h('button', { type: 'button', class: 'linkish', onclick: () => {
        URL.revokeObjectURL(ph.url); photos.splice(i, 1); drawList();
        announce(t('file.photoRemoved', { i: i + 1 })); box.querySelector(`#${id}-pick`).focus();
      } }, t('file.removePhoto', { i: i + 1 })))));
    for (const inp of box.querySelectorAll('input[type=file]')) inp.disabled = photos.length >= max;
  };
  const onFiles = async (e) => {
    const files = [...e.target.files];
    e.target.value = '';
    const problems = [];
    for (const file of files) {
      if (photos.length >= max) { problems.push(t('err.photoDropped', { n: max, name: file.name })); continue; }
      status.textContent = t('file.preparing');
      try {
        const r = await resizePhoto(file);
        photos.push({ data: r.data, type: r.type, sha256: await sha256Hex(r.data), url: URL.createObjectURL(new Blob([r.data], { type: r.type })) });
        status.textContent = t('file.photoAdded', { n: photos.length, max });
      } catch {
        status.textContent = '';
        problems.push(t('err.photoNotImage', { name: file.name }));
      }
    }
    alert.textContent = problems.join(' ');
    drawList();
  };
  box = h('fieldset', { id, tabindex: '-1' },
    h('legend', {}, legend),
    h('span', { class: 'hint' }, t('file.photosHint', { n: max })),
    h('div', { class: 'actions' },
      h('label', { class: 'button secondary file-btn' }, t('file.takePhoto'),
        h('input', { type: 'file', id: `${id}-camera`, accept, capture: 'environment', onchange: onFiles })),
      h('label', { class: 'button secondary file-btn' }, t('file.choosePhoto'),
        h('input', { type: 'file', id: `${id}-pick`, accept, multiple: true, onchange: onFiles }))),
    status, alert, list);
  drawList();
  return box;
}
