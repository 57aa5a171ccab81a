/**
 * The AI findings list: one card per finding (study/finding-card.ts), the selection the
 * keys act on, moving between findings, the heatmap of the selected one, and each
 * model's calibration note once its card has loaded. Decisions themselves are the review
 * actions' (study/review-actions.ts); the panel only offers them.
 */
import { aiWithheldNotice } from '../ai-withheld.ts';
import { getModel, type Finding } from '../api.ts';
import { h, replaceChildren } from '../dom.ts';
import { awaitsDecision } from '../format.ts';
import { calibrationNote } from './calibration-note.ts';
import { findingCard } from './finding-card.ts';
import { isDisplayable } from './image-pane.ts';
import { msg } from './messages.ts';
import { findingsOf, heatmapOnScreen, selectedFinding, type StudyState } from './state.ts';

/** What a finding's card offers; the review actions carry them out. */
export interface FindingDecisions {
  accept(finding: Finding): void;
  override(finding: Finding): void;
  amend(finding: Finding): void;
}

export interface FindingsPanel {
  element: HTMLElement;
  render(): void;
  select(id: string | undefined, focus: boolean): void;
  /** For the Tab/[/] keys: `false` lets the key keep its normal meaning. */
  move(by: number, e?: KeyboardEvent): void | false;
  /** This finding's heatmap on or off; without one, the selected (or first) finding with a map on screen. */
  toggleHeatmap(finding?: Finding): void;
  /** Fetches the model card of every model with a finding here, once each. */
  loadCalibration(): void;
}

type Select = FindingsPanel['select'];

function cardOf(state: StudyState, panel: Pick<FindingsPanel, 'select' | 'render' | 'toggleHeatmap'>, decisions: FindingDecisions, finding: Finding, index: number, total: number): HTMLElement {
  return findingCard(
    {
      finding,
      index,
      total,
      selected: finding.id === state.selectedId,
      amending: state.amending.has(finding.id),
      busy: state.busy.has(finding.id),
      error: state.errors.get(finding.id),
      heatmapOn: state.pane?.heatmapFindingId() === finding.id,
      heatmapAvailable: heatmapOnScreen(state, finding),
      reasons: state.reasons,
      calibration: state.calibration.get(cardKey(finding.model)),
    },
    {
      select: () => panel.select(finding.id, false),
      accept: () => decisions.accept(finding),
      override: () => decisions.override(finding),
      amend: () => decisions.amend(finding),
      cancelAmend: () => {
        state.amending.delete(finding.id);
        panel.render();
      },
      toggleHeatmap: () => panel.toggleHeatmap(finding),
    },
  );
}

function moveSelection(state: StudyState, select: Select, by: number, e?: KeyboardEvent): void | false {
  const list = findingsOf(state);
  if (!list.length) return false;
  const active = document.activeElement;
  const onCard = active instanceof HTMLElement && active.matches('[data-finding-id]');
  // Tab moves between findings only from a finding (or from nowhere), and lets go at
  // either end, so the rest of the page stays reachable and nothing traps focus.
  if (e?.key === 'Tab') {
    if (!onCard && active !== document.body && active !== null) return false;
    if (!onCard) return select(state.selectedId, true);
  }
  const at = list.findIndex((f) => f.id === state.selectedId);
  const next = at + by;
  if (next < 0 || next >= list.length) {
    if (e?.key === 'Tab') return false;
    return;
  }
  select(list[next].id, true);
}

/** A finding's calibration is its own model version's: a canary and the clinical version may sit side by side. */
const cardKey = (model: { id: string; version: string }) => `${model.id}@${model.version}`;

function loadCalibration(state: StudyState, render: () => void): void {
  for (const model of new Map(findingsOf(state).map((f) => [cardKey(f.model), f.model])).values()) {
    const key = cardKey(model);
    if (state.calibration.has(key)) continue;
    getModel(model.id, model.version).then(
      (card) => {
        state.calibration.set(key, calibrationNote(card));
        if (!state.destroyed) render();
      },
      () => {},
    );
  }
}

export function createFindingsPanel(state: StudyState, decisions: FindingDecisions): FindingsPanel {
  const element = h('div', { class: 'findings', testid: 'findings' });

  const select: Select = (id, focus) => {
    state.selectedId = id;
    for (const card of element.querySelectorAll<HTMLElement>('[data-finding-id]')) {
      const on = card.dataset.findingId === id;
      card.classList.toggle('selected', on);
      card.tabIndex = on ? 0 : -1;
      if (on) card.setAttribute('aria-current', 'true');
      else card.removeAttribute('aria-current');
      if (on && focus) card.focus();
    }
    // A finding on another image of the study brings its image up.
    const f = selectedFinding(state);
    const instance = f && state.detail?.instances.filter(isDisplayable).find((i) => i.sopInstanceUid === f.sopInstanceUid);
    if (instance && state.pane && state.pane.current() !== instance) void state.pane.show(instance).then(render);
  };

  const render = () => {
    const detail = state.detail;
    if (!detail) return;
    const m = msg();
    const list = findingsOf(state);
    const hadFocus = element.contains(document.activeElement);
    if (!list.some((f) => f.id === state.selectedId)) state.selectedId = (list.find(awaitsDecision) ?? list[0])?.id;
    replaceChildren(
      element,
      list.length
        ? list.map((finding, index) => cardOf(state, panel, decisions, finding, index, list.length))
        : detail.study.aiWithheld
          // Not "no AI findings": AI was not asked, and the list must not read as a normal result.
          ? aiWithheldNotice(detail.study.aiWithheld, 'chip')
          : h('p', { class: 'muted' }, detail.study.status === 'pending' ? m.stillRunning : m.noFindings),
    );
    select(state.selectedId, hadFocus);
    state.pane?.setHeatmapAvailable(list.some((f) => heatmapOnScreen(state, f)));
  };

  const toggleHeatmap = (finding?: Finding) => {
    const pane = state.pane;
    if (!pane) return;
    const selected = selectedFinding(state);
    const target = finding ?? [selected, ...findingsOf(state)].find((f) => f && heatmapOnScreen(state, f));
    if (!target) return pane.setHeatmap(selected ?? null);
    pane.setHeatmap(pane.heatmapFindingId() === target.id ? null : target);
    render();
  };

  const panel: FindingsPanel = {
    element,
    render,
    select,
    move: (by, e) => moveSelection(state, select, by, e),
    toggleHeatmap,
    loadCalibration: () => loadCalibration(state, render),
  };
  return panel;
}
