// Keyboard shortcuts of the console (research staff-console §6.3). Single-key
// shortcuts never fire inside a text field and can be switched off in Settings
// (WCAG 2.1.4); Ctrl+Enter (save) and Escape (close) are not single keys and stay.
// Every action is also reachable with Tab: the shortcuts only save time.
import { h } from '/app/dom.js';
import { t } from './i18n.js';
import { settings } from './settings.js';

/** SHORTCUTS lists [keys, action, description key] for the help dialog and the handler. */
export const SHORTCUTS = [
  ['j', 'next', 'keys.next'],
  ['k', 'prev', 'keys.prev'],
  ['o', 'open', 'keys.open'],
  ['Escape', 'close', 'keys.close'],
  ['/', 'search', 'keys.search'],
  ['x', 'select', 'keys.select'],
  ['a', 'assignMe', 'keys.assignMe'],
  ['s', 'status', 'keys.status'],
  ['t', 'template', 'keys.template'],
  ['n', 'note', 'keys.note'],
  ['Control+Enter', 'save', 'keys.save'],
  ['g m', 'tab:mine', 'keys.goMine'],
  ['g u', 'tab:unassigned', 'keys.goUnassigned'],
  ['g o', 'tab:overdue', 'keys.goOverdue'],
  ['g a', 'tab:open', 'keys.goOpen'],
  ['?', 'help', 'keys.help'],
];

const keyLabel = (k) => k.split(' ').map((part) => part.split('+').map((p) => h('kbd', {}, p === 'Control' ? 'Ctrl' : p === 'Escape' ? 'Esc' : p))).flatMap((x, i) => (i ? [' ', ...x] : x));

/** showHelp opens the shortcut list as a modal dialog (focus returns to where it was). */
export function showHelp() {
  const back = document.activeElement;
  const close = h('button', { type: 'button', class: 'secondary', onclick: () => dlg.close() }, t('dialog.close'));
  const on = settings().shortcuts;
  const dlg = h('dialog', { id: 'help-dialog', 'aria-labelledby': 'help-title' },
    h('h2', { id: 'help-title' }, t('keys.title')),
    h('p', {}, on ? t('keys.on') : t('keys.off')),
    h('dl', { class: 'keys' }, SHORTCUTS.map(([k, , d]) => [h('dt', {}, keyLabel(k)), h('dd', {}, t(d))])),
    h('p', {}, h('a', { href: '#/settings', onclick: () => dlg.close() }, t('keys.settingsLink'))),
    h('div', { class: 'actions' }, close));
  dlg.addEventListener('close', () => { dlg.remove(); back?.focus?.(); });
  document.body.append(dlg);
  dlg.showModal();
  close.focus();
}

function inField(el) {
  if (!el) return false;
  if (el.isContentEditable) return true;
  const tag = el.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag === 'INPUT') return !['checkbox', 'radio', 'button', 'submit', 'reset'].includes(el.type);
  return false;
}

/**
 * installShortcuts listens on the document; getState() returns the shell's
 * state ({view, name}); views handle actions in view.shortcut(action) and
 * return true when they did something.
 */
export function installShortcuts(getState, ctx) {
  let pendingG = 0;
  document.addEventListener('keydown', (e) => {
    if (document.body.classList.contains('locked') || e.defaultPrevented) return;
    const st = getState();
    const view = st.view;
    const act = (action) => {
      if (action === 'help') { showHelp(); return true; }
      if (action.startsWith('tab:')) { ctx.go(`#/queue/${action.slice(4)}`); return true; }
      return !!view?.shortcut?.(action, e);
    };
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      if (act('save')) e.preventDefault();
      return;
    }
    if (e.key === 'Escape') {
      if (document.querySelector('dialog[open]')) return; // the dialog closes itself
      if (act('close')) e.preventDefault();
      return;
    }
    if (!settings().shortcuts || e.ctrlKey || e.metaKey || e.altKey || inField(e.target)) return;
    if (document.querySelector('dialog[open]')) return;
    const k = e.key;
    if (pendingG && Date.now() - pendingG < 1500) {
      pendingG = 0;
      const map = { m: 'tab:mine', u: 'tab:unassigned', o: 'tab:overdue', a: 'tab:open' };
      if (map[k]) { e.preventDefault(); act(map[k]); }
      return;
    }
    if (k === 'g') { pendingG = Date.now(); return; }
    const found = SHORTCUTS.find(([key]) => key === k);
    if (found && act(found[1])) e.preventDefault();
  });
}
