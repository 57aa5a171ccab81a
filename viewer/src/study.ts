/**
 * One study, read fast: the image with its tools (study/image-pane.ts) and the AI
 * findings, each accepted, overridden with a coded reason, or amended later, plus
 * findings the AI missed. Everything has a key (? lists them) so a reader can go
 * through a worklist without the mouse: decide, then `n` for the next unreviewed study.
 *
 * Decisions are the server's: a finding shows a decision once the API has recorded it,
 * and `n` waits for decisions still in flight, so a fast reader never leaves one behind.
 *
 * This file wires the parts in study/ together (head, image pane, findings panel, review
 * actions, reader findings, keys) and keeps the screen live: server events and the
 * waiting clock re-render it until it unmounts.
 */
import { getReviewReasons, getStudy, getStudyInstances, subscribeToEvents, type StudyDetail } from './api.ts';
import { debounced } from './debounce.ts';
import { h, replaceChildren } from './dom.ts';
import { errorText } from './error-text.ts';
import type { AppContext } from './main.ts';
import { helpButton, pushKeymap } from './shortcuts.ts';
import { createFindingsPanel, type FindingsPanel } from './study/findings-panel.ts';
import { createImagePane, isDisplayable, type ImagePaneOptions } from './study/image-pane.ts';
import { msg } from './study/messages.ts';
import { createReaderFindings, type ReaderFindings } from './study/reader-findings.ts';
import { createReviewActions, type ReviewActions } from './study/review-actions.ts';
import { createStudyState, findingsOf, selectedFinding, type StudyState } from './study/state.ts';
import { consentPanel } from './study/consent-panel.ts';
import { askConsultationButton } from './consultations/ask-dialog.ts';
import { otherObjects } from './study/other-objects.ts';
import { createStudyHead, type StudyHead } from './study/study-header.ts';
import { studyShortcuts } from './study/study-keys.ts';
import { rememberedFilters, worklistHash } from './worklist-filters.ts';
import { SLA_TICK_MS } from './worklist/sla-clock.ts';

/** Bursts of server events (one per instance) become one re-fetch. */
const DEBOUNCE_MS = 200;

interface StudyParts {
  head: StudyHead;
  findings: FindingsPanel;
  review: ReviewActions;
  readerFindings: ReaderFindings;
}

/** Every part shows `state.detail` as it now is. */
function renderAll(state: StudyState, parts: StudyParts): void {
  parts.head.render();
  parts.findings.render();
  parts.readerFindings.render();
  parts.findings.loadCalibration();
}

/**
 * What the screen offers besides reading: "ask for a consultation" is for a study of one of the
 * user's own sites (a county reader of a township film does not ask on the township's behalf),
 * and a case view shows the study without it (the case is one).
 */
export interface StudyOptions {
  offerConsultation?: boolean;
}

/** The findings side: the AI's findings, then the readers' with the two screen-level actions, then asking a consultation and the patient's consent. */
function findingsAside(parts: StudyParts, state: StudyState, options: StudyOptions, study: StudyDetail['study'], instances: StudyDetail['instances']): HTMLElement {
  const m = msg();
  return h(
    'aside',
    { class: 'findings-pane', 'aria-label': m.findings },
    h('div', { class: 'pane-head' }, h('h2', {}, m.findings), helpButton()),
    h('p', { class: 'muted small' }, m.findingsNote),
    h('p', { class: 'small keys-hint' }, m.keysHint),
    parts.findings.element,
    h(
      'section',
      { class: 'reader-section', 'aria-label': m.readerFindings },
      h('h3', {}, m.readerFindings),
      parts.readerFindings.element,
      h('div', { class: 'row-actions' },
        h('button', { type: 'button', testid: 'add-missed', onclick: parts.readerFindings.add }, m.addMissed),
        h('button', { type: 'button', class: 'primary', testid: 'next-study', onclick: () => void parts.review.goNext() }, m.next),
      ),
    ),
    options.offerConsultation !== false && state.ctx.user().sites.includes(study.siteId)
      ? h('div', { class: 'row-actions ask-row' }, askConsultationButton(state.ctx, () => ({ kind: 'study', studyInstanceUid: study.studyInstanceUid }), study.siteId))
      : null,
    consentPanel(study),
    otherObjects(instances),
  );
}

function showLoadFailure(root: HTMLElement, state: StudyState, err: unknown): void {
  const m = msg();
  replaceChildren(
    root,
    h('a', { href: state.backHref, class: 'back' }, m.back),
    h('div', { class: 'banner banner-error', testid: 'study-error', role: 'alert' }, m.loadFailed(errorText(err))),
  );
}

/** First paint: fetch the study, lay the screen out, then bring up the selected finding's image. */
async function load(root: HTMLElement, state: StudyState, parts: StudyParts, options: StudyOptions): Promise<void> {
  try {
    state.detail = await getStudy(state.studyInstanceUid, state.signal);
  } catch (err) {
    if (!state.destroyed) showLoadFailure(root, state, err);
    return;
  }
  if (state.destroyed) return;
  const d = state.detail;
  const images = d.instances.filter(isDisplayable);
  const pane = createImagePane({ modality: d.study.modality, instances: images, more: morePages(state, d), onToggleHeatmap: () => parts.findings.toggleHeatmap(), signal: state.signal });
  state.pane = pane;
  replaceChildren(root, parts.head.element, h('div', { class: 'study-body' }, pane.element, findingsAside(parts, state, options, d.study, d.instances)));
  renderAll(state, parts);
  getReviewReasons().then(
    (items) => {
      state.reasons = items;
      if (!state.destroyed) parts.findings.render();
    },
    () => {},
  );
  const first = selectedFinding(state) ?? findingsOf(state)[0];
  const instance = images.find((i) => i.sopInstanceUid === first?.sopInstanceUid) ?? images[0];
  if (instance) {
    await pane.show(instance);
    if (!state.destroyed) parts.findings.render();
  }
}

/** The pages of a large study's images after the first, fetched one at a time when the reader asks. */
function morePages(state: StudyState, d: StudyDetail): ImagePaneOptions['more'] {
  let after = d.instancesAfter;
  if (!after) return undefined;
  return {
    total: d.series.reduce((n, series) => n + series.instances, 0),
    async next() {
      const page = await getStudyInstances(state.studyInstanceUid, after!, state.signal);
      after = page.after;
      return { instances: page.instances.filter(isDisplayable), done: !after };
    },
  };
}

export function mountStudy(root: HTMLElement, ctx: AppContext, studyInstanceUid: string, options: StudyOptions = {}): () => void {
  const m = msg();
  const controller = new AbortController();
  const state = createStudyState(studyInstanceUid, ctx, worklistHash(rememberedFilters()), controller.signal);

  /** The server's view after a change: status, priority, reviews by others, new findings. */
  const refresh = async () => {
    try {
      const next = await getStudy(studyInstanceUid, controller.signal);
      if (state.destroyed) return;
      state.detail = next;
      renderAll(state, parts);
    } catch {
      // What is on screen stays; the next event or poll tries again.
    }
  };
  const refreshSoon = debounced(() => void refresh(), DEBOUNCE_MS);

  const review = createReviewActions(state, { changed: () => findings.render(), refreshSoon });
  const findings = createFindingsPanel(state, review);
  const head = createStudyHead(state);
  const parts: StudyParts = { head, findings, review, readerFindings: createReaderFindings(state) };

  replaceChildren(root, h('div', { class: 'muted' }, m.loading));
  const popKeys = pushKeymap({ title: () => m.title, shortcuts: studyShortcuts(state, findings, review, parts.readerFindings) });
  const unsubscribe = subscribeToEvents((u) => {
    if (u.type === 'poll' || u.studyInstanceUid === studyInstanceUid) refreshSoon();
  });
  const clock = setInterval(head.render, SLA_TICK_MS);
  void load(root, state, parts, options);

  return () => {
    state.destroyed = true;
    controller.abort();
    refreshSoon.cancel();
    clearInterval(clock);
    unsubscribe();
    popKeys();
    state.pane?.destroy();
  };
}
