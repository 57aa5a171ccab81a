/**
 * A modal dialog that behaves the same everywhere: labelled for screen readers, focus
 * moved in and kept in (Tab wraps), Escape cancels even from a text field, focus returns
 * to where it was on close, and the screen's shortcuts are silent while it is open.
 */
import { h } from './dom.ts';
import { pushKeymap, type Shortcut } from './shortcuts.ts';

type Content = Node | string | null | false | undefined;

export interface ModalOptions {
  title: string;
  testid: string;
  className?: string;
  /** The dialog's content; `close` dismisses it (as a cancel). */
  body: (close: () => void) => Content | Content[];
  /** Keys the dialog answers while open, besides Escape. */
  keys?: (close: () => void) => Shortcut[];
  /** Element to focus first; defaults to the first focusable one. */
  initialFocus?: () => HTMLElement | null;
  onClose?: () => void;
}

export interface Modal {
  dialog: HTMLElement;
  close(): void;
}

const FOCUSABLE = 'button:not(:disabled), input:not(:disabled), select:not(:disabled), textarea:not(:disabled), [href], [tabindex]:not([tabindex="-1"])';

let serial = 0;

export function openModal(options: ModalOptions): Modal {
  const returnFocus = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const titleId = `modal-title-${++serial}`;
  let closed = false;
  let popKeys = () => {};
  const close = () => {
    if (closed) return;
    closed = true;
    popKeys();
    backdrop.remove();
    options.onClose?.();
    if (returnFocus?.isConnected) returnFocus.focus();
  };
  const dialog = h('div', {
    class: `dialog ${options.className ?? ''}`,
    role: 'dialog',
    'aria-modal': 'true',
    'aria-labelledby': titleId,
    testid: options.testid,
    tabindex: -1,
  });
  dialog.append(h('h2', { id: titleId }, options.title));
  for (const child of [options.body(close)].flat()) if (child) dialog.append(child);
  const backdrop = h('div', { class: 'backdrop' }, dialog);
  backdrop.addEventListener('mousedown', (e) => {
    if (e.target === backdrop) close();
  });
  dialog.addEventListener('keydown', (e) => {
    if (e.key !== 'Tab') return;
    const focusable = [...dialog.querySelectorAll<HTMLElement>(FOCUSABLE)];
    if (!focusable.length) return;
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  });
  popKeys = pushKeymap({
    modal: true,
    shortcuts: [{ keys: ['Escape'], description: () => 'Esc', whileTyping: true, run: () => close() }, ...(options.keys?.(close) ?? [])],
  });
  document.body.append(backdrop);
  (options.initialFocus?.() ?? dialog.querySelector<HTMLElement>(FOCUSABLE) ?? dialog).focus();
  return { dialog, close };
}
