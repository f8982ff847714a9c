// Photo zoom and redaction (a face, a number plate). Boxes are drawn with the
// mouse (drag), placed with a single click or tap, or added with a button and
// then moved and resized with the arrow keys or on-screen buttons — no action
// needs a drag (WCAG 2.5.7). Coordinates are fractions 0..1 of the image; the
// server re-encodes the photo with black boxes (the original is not kept).
import { h, announce } from '/app/dom.js';
import { t } from '../i18n.js';

const STEP = 0.02;
const DEFAULT_W = 0.2;
const DEFAULT_H = 0.15;
const MIN = 0.02;

const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));

/** openZoom shows one photo in a modal dialog with redaction tools. */
export function openZoom({ name, index, count, number, url, redact }) {
  const back = document.activeElement;
  const boxes = [];
  let current = -1;
  const img = h('img', { src: url, alt: t('photo.alt', { i: index + 1, n: count, number }) });
  const stage = h('div', { class: 'zoom', id: 'zoom-stage' }, img);
  const status = h('p', { id: 'redact-status', role: 'status' }, t('redact.none'));
  const err = h('p', { class: 'err', id: 'redact-error', role: 'alert' });

  const place = (b) => {
    b.el.style.left = `${b.x * 100}%`;
    b.el.style.top = `${b.y * 100}%`;
    b.el.style.width = `${b.w * 100}%`;
    b.el.style.height = `${b.h * 100}%`;
    b.el.setAttribute('aria-label', t('redact.boxLabel', { i: boxes.indexOf(b) + 1, x: Math.round(b.x * 100), y: Math.round(b.y * 100), w: Math.round(b.w * 100), h: Math.round(b.h * 100) }));
  };
  const select = (i) => {
    current = i;
    boxes.forEach((b, j) => b.el.setAttribute('aria-pressed', String(j === i)));
    if (boxes[i]) boxes[i].el.focus();
    status.textContent = boxes.length ? t('redact.count', { n: boxes.length }) : t('redact.none');
  };
  const add = (x, y, w = DEFAULT_W, hh = DEFAULT_H) => {
    const b = { x: clamp(x, 0, 1 - w), y: clamp(y, 0, 1 - hh), w, h: hh };
    b.el = h('button', { type: 'button', class: 'box', 'aria-pressed': 'false', onclick: (e) => { e.stopPropagation(); select(boxes.indexOf(b)); } });
    b.el.addEventListener('keydown', (e) => keys(e, b));
    b.el.addEventListener('pointerdown', (e) => e.stopPropagation());
    boxes.push(b);
    stage.append(b.el);
    place(b);
    select(boxes.length - 1);
    announce(t('redact.added', { n: boxes.length }));
    return b;
  };
  const remove = (b) => {
    const i = boxes.indexOf(b);
    if (i < 0) return;
    boxes.splice(i, 1);
    b.el.remove();
    boxes.forEach(place);
    select(Math.min(i, boxes.length - 1));
    announce(t('redact.removed'));
  };
  const nudge = (b, dx, dy, dw, dh) => {
    b.w = clamp(b.w + dw, MIN, 1);
    b.h = clamp(b.h + dh, MIN, 1);
    b.x = clamp(b.x + dx, 0, 1 - b.w);
    b.y = clamp(b.y + dy, 0, 1 - b.h);
    place(b);
  };
  function keys(e, b) {
    const map = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (map[e.key]) {
      e.preventDefault();
      const [dx, dy] = map[e.key];
      if (e.shiftKey) nudge(b, 0, 0, dx * STEP, dy * STEP); else nudge(b, dx * STEP, dy * STEP, 0, 0);
    } else if (e.key === 'Delete' || e.key === 'Backspace') {
      e.preventDefault();
      remove(b);
    }
  }

  // mouse: drag draws a box; a click without a drag places a default box there
  let drag = null;
  stage.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    const r = img.getBoundingClientRect();
    drag = { r, x0: (e.clientX - r.left) / r.width, y0: (e.clientY - r.top) / r.height, box: null };
    stage.setPointerCapture(e.pointerId);
    e.preventDefault();
  });
  stage.addEventListener('pointermove', (e) => {
    if (!drag) return;
    const x = clamp((e.clientX - drag.r.left) / drag.r.width, 0, 1);
    const y = clamp((e.clientY - drag.r.top) / drag.r.height, 0, 1);
    if (!drag.box && Math.hypot(x - drag.x0, y - drag.y0) < 0.01) return;
    if (!drag.box) drag.box = add(drag.x0, drag.y0, MIN, MIN);
    const b = drag.box;
    b.x = Math.min(drag.x0, x); b.y = Math.min(drag.y0, y);
    b.w = Math.max(MIN, Math.abs(x - drag.x0)); b.h = Math.max(MIN, Math.abs(y - drag.y0));
    place(b);
  });
  stage.addEventListener('pointerup', () => {
    if (drag && !drag.box) add(drag.x0 - DEFAULT_W / 2, drag.y0 - DEFAULT_H / 2);
    drag = null;
  });

  const ctl = (id, label, fn) => h('button', { type: 'button', class: 'secondary', id, onclick: () => { const b = boxes[current]; if (b) { fn(b); b.el.focus(); } } }, label);
  const save = h('button', {
    type: 'button', id: 'redact-save',
    onclick: async () => {
      if (!boxes.length) { err.textContent = t('redact.needBox'); return; }
      save.disabled = true;
      err.textContent = '';
      try {
        await redact(boxes.map((b) => ({ x: round(b.x), y: round(b.y), w: round(b.w), h: round(b.h) })));
        dlg.close();
      } catch (e) {
        err.textContent = e.response?.message || e.message || String(e);
      } finally {
        save.disabled = false;
      }
    },
  }, t('redact.save'));
  const dlg = h('dialog', { id: 'zoom-dialog', 'aria-labelledby': 'zoom-title' },
    h('h2', { id: 'zoom-title' }, t('photo.zoomTitle', { i: index + 1, n: count, number })),
    h('p', { class: 'hint', id: 'redact-help' }, t('redact.help')),
    stage, status, err,
    h('div', { class: 'actions', role: 'group', 'aria-label': t('redact.tools') },
      h('button', { type: 'button', class: 'secondary', id: 'redact-add', onclick: () => add(0.5 - DEFAULT_W / 2, 0.5 - DEFAULT_H / 2) }, t('redact.add')),
      ctl('redact-left', t('redact.left'), (b) => nudge(b, -STEP, 0, 0, 0)),
      ctl('redact-right', t('redact.right'), (b) => nudge(b, STEP, 0, 0, 0)),
      ctl('redact-up', t('redact.up'), (b) => nudge(b, 0, -STEP, 0, 0)),
      ctl('redact-down', t('redact.down'), (b) => nudge(b, 0, STEP, 0, 0)),
      ctl('redact-bigger', t('redact.bigger'), (b) => nudge(b, -STEP / 2, -STEP / 2, STEP, STEP)),
      ctl('redact-smaller', t('redact.smaller'), (b) => nudge(b, STEP / 2, STEP / 2, -STEP, -STEP)),
      ctl('redact-remove', t('redact.remove'), remove)),
    h('div', { class: 'actions' }, save, h('button', { type: 'button', class: 'secondary', id: 'zoom-close', onclick: () => dlg.close() }, t('dialog.close'))));
  dlg.dataset.name = name;
  dlg.addEventListener('close', () => { dlg.remove(); back?.focus?.(); });
  document.body.append(dlg);
  dlg.showModal();
  dlg.querySelector('#redact-add').focus();
}

const round = (v) => Math.round(v * 10000) / 10000;
