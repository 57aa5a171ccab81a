/**
 * Feedback for every action: a short toast the reader sees and a live region a screen
 * reader speaks ("Accepted: Pneumonia"). Errors go to an assertive region so they
 * interrupt; the rest wait their turn.
 */
import { h } from './dom.ts';

export type Tone = 'ok' | 'info' | 'error';

/** Long enough to read a short sentence; the live region has already spoken it. */
const VISIBLE_MS = 4000;
/** A fast reader acts several times a second: older toasts give way so the findings panel stays visible. */
const MAX_VISIBLE = 3;

let tray: HTMLElement | undefined;
let polite: HTMLElement | undefined;
let assertive: HTMLElement | undefined;

function regions(): { tray: HTMLElement; polite: HTMLElement; assertive: HTMLElement } {
  if (!tray?.isConnected) {
    tray = h('div', { class: 'toasts', 'aria-hidden': 'true' });
    polite = h('div', { class: 'sr-only', role: 'status', 'aria-live': 'polite', testid: 'announcer' });
    assertive = h('div', { class: 'sr-only', role: 'alert', 'aria-live': 'assertive', testid: 'announcer-alert' });
    document.body.append(tray, polite, assertive);
  }
  return { tray, polite: polite!, assertive: assertive! };
}

export function announce(text: string, tone: Tone = 'info'): void {
  const r = regions();
  const live = tone === 'error' ? r.assertive : r.polite;
  // Re-setting the same text is not announced; clearing first makes repeats audible.
  live.textContent = '';
  requestAnimationFrame(() => {
    live.textContent = text;
  });
  const toast = h('div', { class: `toast toast-${tone}`, testid: 'toast', 'data-tone': tone }, text);
  r.tray.append(toast);
  while (r.tray.childElementCount > MAX_VISIBLE) r.tray.firstElementChild!.remove();
  setTimeout(() => toast.remove(), VISIBLE_MS);
}
