/**
 * The study screen's keys, one table: the same table drives the keys and the `?` help
 * (shortcuts.ts), so the help lists exactly what the keys do.
 */
import type { Shortcut } from '../shortcuts.ts';
import type { FindingsPanel } from './findings-panel.ts';
import { PAN_STEP, ZOOM_STEP } from './image-pane.ts';
import { msg } from './messages.ts';
import type { ReaderFindings } from './reader-findings.ts';
import { mayDecide, type ReviewActions } from './review-actions.ts';
import { selectedFinding, type StudyState } from './state.ts';

const PAN_BY_KEY: Record<string, [number, number]> = {
  ArrowLeft: [-PAN_STEP, 0],
  ArrowRight: [PAN_STEP, 0],
  ArrowUp: [0, -PAN_STEP],
  ArrowDown: [0, PAN_STEP],
};

export function studyShortcuts(state: StudyState, findings: FindingsPanel, review: ReviewActions, readerFindings: ReaderFindings): Shortcut[] {
  const m = msg();
  const selected = () => selectedFinding(state);
  const pane = () => state.pane;
  return [
    {
      keys: ['a'],
      description: () => m.kAccept,
      run: () => {
        const f = selected();
        if (mayDecide(state, f)) review.accept(f);
      },
    },
    { keys: ['o'], description: () => m.kOverride, run: () => review.override(selected()) },
    { keys: ['e'], description: () => m.kAmend, run: () => review.amend(selected()) },
    { keys: ['m'], description: () => m.kMissed, run: readerFindings.add },
    { keys: ['n'], description: () => m.kNext, run: () => void review.goNext() },
    { keys: ['Tab', ']'], description: () => m.kNextFinding, run: (e) => findings.move(1, e) },
    { keys: ['Shift+Tab', '['], description: () => m.kPrevFinding, run: (e) => findings.move(-1, e) },
    { keys: ['h'], description: () => m.kHeatmap, run: () => findings.toggleHeatmap() },
    { keys: ['1', '2', '3', '4'], description: () => m.kPreset('1–4'), run: (e) => pane()?.applyPreset(e.key) },
    { keys: ['i'], description: () => m.kInvert, run: () => pane()?.toggleInvert() },
    { keys: ['r'], description: () => m.kReset, run: () => pane()?.reset() },
    { keys: ['+', '='], description: () => m.kZoomIn, run: () => pane()?.zoom(ZOOM_STEP) },
    { keys: ['-'], description: () => m.kZoomOut, run: () => pane()?.zoom(1 / ZOOM_STEP) },
    { keys: Object.keys(PAN_BY_KEY), description: () => m.kPan, run: (e) => pane()?.pan(...PAN_BY_KEY[e.key]) },
    { keys: ['w'], description: () => m.kWorklist, run: () => state.ctx.navigate(state.backHref) },
  ];
}
