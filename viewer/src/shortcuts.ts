/**
 * Keyboard shortcuts: each screen declares a table of keys → actions, and the same table
 * produces the `?` help overlay, so help never drifts from what the keys do.
 *
 * Keymaps stack: a dialog pushes a modal keymap on top of the screen's, and while it is
 * open the screen's keys are dead (digits pick a reason in the override picker instead
 * of a window preset). Keys never fire while the reader types in a text field, except
 * those marked `whileTyping` (Escape, to leave the field's dialog), and never steal the
 * keys a focused control needs (Enter on a button, arrows on a slider).
 */
import { h } from './dom.ts';
import { defineMessages } from './i18n.ts';
import { openModal } from './modal.ts';

export interface Shortcut {
  /**
   * `KeyboardEvent.key` values; letters match either case. A non-printable key with Shift
   * is written `Shift+Tab`; printable keys already carry Shift (`?`).
   */
  keys: string[];
  /** For the help overlay, in the reader's language (called at render). */
  description: () => string;
  /**
   * Runs the action. Return `false` to decline (the key then keeps its normal meaning,
   * e.g. Tab leaving the findings list after the last finding).
   */
  run: (e: KeyboardEvent) => void | false;
  whileTyping?: boolean;
}

export interface Keymap {
  /** Heading in the help overlay; a keymap without one is not listed there. */
  title?: () => string;
  shortcuts: Shortcut[];
  /** Swallows every key it does not handle, so keymaps below it stay quiet. */
  modal?: boolean;
}

const msg = defineMessages({
  en: { help: 'Keyboard shortcuts', helpKey: 'Show these shortcuts', close: 'Close', or: 'or' },
  zh: { help: '键盘快捷键', helpKey: '显示快捷键', close: '关闭', or: '或' },
});

const stack: Keymap[] = [];

const NON_TEXT_INPUTS = new Set(['button', 'checkbox', 'radio', 'range', 'reset', 'submit', 'color', 'file', 'image']);
const SLIDER_KEYS = new Set(['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End', 'PageUp', 'PageDown']);

/** True when the key belongs to the focused control rather than to the screen. */
function ownedByControl(target: EventTarget | null, key: string): { typing: boolean; owned: boolean } {
  if (!(target instanceof HTMLElement)) return { typing: false, owned: false };
  if (target.isContentEditable || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) {
    return { typing: true, owned: true };
  }
  if (target instanceof HTMLInputElement) {
    if (!NON_TEXT_INPUTS.has(target.type)) return { typing: true, owned: true };
    if (target.type === 'range') return { typing: false, owned: SLIDER_KEYS.has(key) };
    if (target.type === 'checkbox' || target.type === 'radio') return { typing: false, owned: key === ' ' };
    return { typing: false, owned: key === ' ' || key === 'Enter' };
  }
  const activates = target instanceof HTMLButtonElement || target instanceof HTMLAnchorElement || target.getAttribute('role') === 'button';
  return { typing: false, owned: activates && (key === 'Enter' || key === ' ') };
}

function eventKey(e: KeyboardEvent): string {
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  return e.shiftKey && e.key.length > 1 ? `Shift+${key}` : key;
}

function matches(shortcut: Shortcut, key: string): boolean {
  return shortcut.keys.some((k) => (k.length === 1 ? k.toLowerCase() : k) === key);
}

function onKeyDown(e: KeyboardEvent): void {
  if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
  const key = eventKey(e);
  const { typing, owned } = ownedByControl(e.target, e.key);
  for (let i = stack.length - 1; i >= 0; i--) {
    const keymap = stack[i];
    const shortcut = keymap.shortcuts.find((s) => matches(s, key));
    if (shortcut && (!owned || (typing && shortcut.whileTyping))) {
      if (shortcut.run(e) !== false) {
        e.preventDefault();
        return;
      }
    }
    if (keymap.modal) return;
  }
}

/**
 * Makes `keymap` the active one until the returned function is called. A titled keymap
 * also answers `?` with its help overlay.
 */
export function pushKeymap(keymap: Keymap): () => void {
  const entry: Keymap = keymap.title
    ? { ...keymap, shortcuts: [...keymap.shortcuts, { keys: ['?'], description: () => msg().helpKey, run: () => showHelp(entry) }] }
    : keymap;
  if (stack.length === 0) document.addEventListener('keydown', onKeyDown);
  stack.push(entry);
  return () => {
    const at = stack.indexOf(entry);
    if (at >= 0) stack.splice(at, 1);
    if (stack.length === 0) document.removeEventListener('keydown', onKeyDown);
  };
}

/** A visible way to the same help for readers who do not know to press `?`. */
export function helpButton(): HTMLButtonElement {
  const m = msg();
  return h(
    'button',
    {
      type: 'button',
      class: 'help-button',
      testid: 'shortcuts-button',
      title: `${m.help} (?)`,
      'aria-label': `${m.help} (?)`,
      onclick: () => {
        const top = [...stack].reverse().find((k) => k.title);
        if (top) showHelp(top);
      },
    },
    h('kbd', {}, '?'),
    ` ${m.help}`,
  );
}

const KEY_NAMES: Record<string, string> = {
  ArrowDown: '↓',
  ArrowUp: '↑',
  ArrowLeft: '←',
  ArrowRight: '→',
  Enter: 'Enter',
  Escape: 'Esc',
  'Shift+Tab': 'Shift+Tab',
};

let helpOpen = false;

function showHelp(keymap: Keymap): void {
  if (helpOpen) return;
  helpOpen = true;
  const m = msg();
  const list = h(
    'dl',
    { class: 'shortcut-list', testid: 'shortcut-list' },
    keymap.shortcuts.flatMap((s) => [
      h(
        'dt',
        {},
        s.keys.flatMap((k, n) => [n > 0 ? ` ${m.or} ` : null, h('kbd', {}, KEY_NAMES[k] ?? k.toUpperCase())]),
      ),
      h('dd', {}, s.description()),
    ]),
  );
  openModal({
    title: `${keymap.title!()} — ${m.help}`,
    testid: 'shortcuts-help',
    className: 'dialog-wide',
    body: (close) => [list, h('div', { class: 'dialog-actions' }, h('button', { type: 'button', class: 'primary', onclick: close }, m.close))],
    keys: (close) => [{ keys: ['?'], description: () => m.close, run: () => close() }],
    onClose: () => {
      helpOpen = false;
    },
  });
}
