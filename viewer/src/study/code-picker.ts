/**
 * Pick one coded item fast: the override reason for a finding, or the label of a finding
 * the AI missed. Digits pick (1 = first item), Enter confirms, Escape cancels; an
 * optional comment (required for some codes, e.g. "other") takes ordinary typing,
 * digits included. Confirming closes the dialog at once and hands the choice over: the
 * caller saves it and reports the outcome, so the reader can move on without waiting.
 */
import { h } from '../dom.ts';
import { clinical, defineMessages } from '../i18n.ts';
import { openModal } from '../modal.ts';

export interface CodedItem {
  code: string;
  display: string;
  displayZh?: string;
}

export interface CodePickerOptions {
  title: string;
  testid: string;
  /** One line under the title: what is being decided on. */
  subject: string;
  items: CodedItem[];
  commentRequired: (code: string) => boolean;
  confirmLabel: string;
  /** Takes the choice (once it is complete); the dialog is closed right after. */
  submit: (code: string, comment: string | undefined) => void;
}

const msg = defineMessages({
  en: {
    hint: (n: number) => `Press 1–${n} to choose, Enter to confirm, Esc to cancel.`,
    comment: 'Comment (optional)',
    commentRequired: 'Comment (required for this choice)',
    commentPlaceholder: 'What you see instead',
    choose: 'Choose one of the options first (press its number).',
    needComment: 'This choice needs a comment.',
    cancel: 'Cancel',
    pick: (display: string) => `Choose: ${display}`,
  },
  zh: {
    hint: (n: number) => `按 1–${n} 选择，Enter 确认，Esc 取消。`,
    comment: '备注（可选）',
    commentRequired: '备注（此选项必填）',
    commentPlaceholder: '您所见到的情况',
    choose: '请先选择一项（按对应数字）。',
    needComment: '此选项需要填写备注。',
    cancel: '取消',
    pick: (display: string) => `选择：${display}`,
  },
});

/** At most nine items get a digit; the API's lists are shorter than that. */
const DIGITS = ['1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** The picker's controls, built before the dialog so the keys can reach them. */
interface PickerControls {
  radios: HTMLInputElement[];
  commentLabel: HTMLElement;
  comment: HTMLInputElement;
  error: HTMLElement;
  confirm: HTMLButtonElement;
}

/** The dialog's form: the coded choices with their digits, the comment, and Cancel/confirm. */
function pickerForm(options: CodePickerOptions, c: PickerControls, close: () => void, sync: () => void, send: (close: () => void) => void): HTMLFormElement {
  const m = msg();
  const form = h(
    'form',
    { class: 'picker-form' },
    h('p', { class: 'muted small' }, options.subject),
    h(
      'div',
      { role: 'radiogroup', 'aria-label': options.title, class: 'picker-options' },
      options.items.map((item, n) =>
        h(
          'label',
          { class: 'picker-option', for: c.radios[n].id },
          c.radios[n],
          n < DIGITS.length ? h('kbd', { 'aria-hidden': 'true' }, DIGITS[n]) : null,
          h('span', {}, clinical(item.display, item.displayZh)),
        ),
      ),
    ),
    c.commentLabel,
    c.comment,
    c.error,
    h('p', { class: 'muted small' }, m.hint(Math.min(options.items.length, DIGITS.length))),
    h('div', { class: 'dialog-actions' }, h('button', { type: 'button', class: 'link', onclick: close, testid: 'picker-cancel' }, m.cancel), c.confirm),
  );
  form.addEventListener('change', sync);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    send(close);
  });
  return form;
}

export function openCodePicker(options: CodePickerOptions): void {
  const m = msg();
  const name = `${options.testid}-choice`;
  const radios = options.items.map((item, n) =>
    h('input', { type: 'radio', name, value: item.code, id: `${name}-${n}`, testid: 'picker-option', 'data-code': item.code }),
  );
  const comment = h('input', {
    type: 'text',
    id: `${name}-comment`,
    testid: 'picker-comment',
    maxlength: 2000,
    autocomplete: 'off',
    placeholder: m.commentPlaceholder,
  });
  const commentLabel = h('label', { for: comment.id }, m.comment);
  const error = h('div', { class: 'inline-error', role: 'alert', testid: 'picker-error' });
  const confirm = h('button', { type: 'submit', class: 'primary', testid: 'picker-confirm' }, `${options.confirmLabel} (Enter)`);
  const chosen = () => radios.find((r) => r.checked)?.value;

  const sync = () => {
    const code = chosen();
    commentLabel.textContent = code && options.commentRequired(code) ? m.commentRequired : m.comment;
    for (const r of radios) r.closest('label')!.classList.toggle('chosen', r.checked);
  };
  const pick = (n: number) => {
    const radio = radios[n];
    if (!radio) return;
    radio.checked = true;
    radio.focus();
    error.textContent = '';
    sync();
  };

  const send = (close: () => void) => {
    const code = chosen();
    const text = comment.value.trim();
    if (!code) {
      error.textContent = m.choose;
      radios[0]?.focus();
      return;
    }
    if (options.commentRequired(code) && !text) {
      error.textContent = m.needComment;
      comment.focus();
      return;
    }
    close();
    options.submit(code, text || undefined);
  };

  openModal({
    title: options.title,
    testid: options.testid,
    className: 'picker',
    body: (close) => pickerForm(options, { radios, commentLabel, comment, error, confirm }, close, sync, send),
    keys: (close) => [
      ...options.items.slice(0, DIGITS.length).map((item, n) => ({
        keys: [DIGITS[n]],
        description: () => m.pick(clinical(item.display, item.displayZh)),
        run: () => pick(n),
      })),
      { keys: ['Enter'], description: () => options.confirmLabel, run: () => send(close) },
    ],
    initialFocus: () => radios[0] ?? comment,
  });
  sync();
}
