/**
 * Findings the AI missed, added by readers: the list under the AI's findings and the
 * coded picker that adds one, tied to the image on screen. Recorded beside the AI's
 * findings, never in place of them.
 */
import { getReaderFindingLabels, postReaderFinding, type ReaderFinding } from '../api.ts';
import { announce } from '../announce.ts';
import { h, replaceChildren } from '../dom.ts';
import { errorText } from '../error-text.ts';
import { dateTime } from '../format.ts';
import { clinical } from '../i18n.ts';
import { openCodePicker } from './code-picker.ts';
import { msg } from './messages.ts';
import type { StudyState } from './state.ts';

export interface ReaderFindings {
  element: HTMLElement;
  render(): void;
  /** Opens the picker; the finding is saved when the reader confirms. */
  add(): void;
}

function readerFindingView(r: ReaderFinding): HTMLElement {
  return h(
    'li',
    { class: 'reader-finding', testid: 'reader-finding', 'data-label': r.label },
    h('strong', {}, clinical(r.display, r.displayZh)),
    ` · ${r.reviewer} · `,
    h('time', { datetime: r.createdAt }, dateTime(r.createdAt)),
    r.comment ? h('div', { class: 'comment' }, `“${r.comment}”`) : null,
  );
}

export function createReaderFindings(state: StudyState): ReaderFindings {
  const m = msg();
  const element = h('ul', { class: 'reader-findings', testid: 'reader-findings' });

  const render = () =>
    replaceChildren(element, state.detail?.readerFindings.length ? state.detail.readerFindings.map(readerFindingView) : h('li', { class: 'muted small' }, m.noReaderFindings));

  const save = async (label: string, comment: string | undefined) => {
    const shown = state.pane?.current();
    const sent = postReaderFinding(state.studyInstanceUid, {
      label,
      ...(shown ? { sopInstanceUid: shown.sopInstanceUid } : {}),
      ...(comment ? { comment } : {}),
    });
    state.inFlight.add(sent);
    try {
      const created = await sent;
      if (state.detail) state.detail.readerFindings = [...state.detail.readerFindings, created];
      if (!state.destroyed) render();
      announce(m.missedSaved(clinical(created.display, created.displayZh)), 'ok');
    } catch (err) {
      announce(m.missedNotSaved(errorText(err)), 'error');
    } finally {
      state.inFlight.delete(sent);
    }
  };

  const add = () => {
    getReaderFindingLabels().then(
      (items) =>
        openCodePicker({
          title: m.missedTitle,
          testid: 'missed-picker',
          subject: m.missedSubject,
          items,
          commentRequired: (code) => code === 'other',
          confirmLabel: m.missedConfirm,
          submit: (label, comment) => void save(label, comment),
        }),
      (err) => announce(m.reasonsFailed(errorText(err)), 'error'),
    );
  };

  return { element, render, add };
}
