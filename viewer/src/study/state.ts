/**
 * What the parts of the study screen share while it is mounted: the study as the server
 * last sent it, the image pane, which finding is selected, and the decisions under way.
 * Each part takes this object explicitly, so what a part reads and changes is in its
 * signature rather than in a closure over the whole screen.
 */
import type { Finding, ReviewReason, StudyDetail } from '../api.ts';
import { clinical } from '../i18n.ts';
import type { AppContext } from '../main.ts';
import type { CalibrationNote } from './calibration-note.ts';
import type { ImagePane } from './image-pane.ts';

export interface StudyState {
  readonly studyInstanceUid: string;
  readonly ctx: AppContext;
  /** The worklist as the reader last filtered it. */
  readonly backHref: string;
  /** Aborted when the screen unmounts. */
  readonly signal: AbortSignal;
  /** Set on unmount: answers arriving later must not touch the DOM. */
  destroyed: boolean;
  detail?: StudyDetail;
  pane?: ImagePane;
  selectedId?: string;
  reasons: ReviewReason[];
  /** Findings whose decision is being amended (their Accept/Override are offered again). */
  readonly amending: Set<string>;
  /** Findings with a decision on its way to the server. */
  readonly busy: Set<string>;
  /** The last refusal per finding, shown on its card. */
  readonly errors: Map<string, string>;
  /** Per model `id@version`; absent while its card loads. */
  readonly calibration: Map<string, CalibrationNote>;
  /** Decisions and reader findings sent and not yet answered; `n` waits for them. */
  readonly inFlight: Set<Promise<unknown>>;
}

export function createStudyState(studyInstanceUid: string, ctx: AppContext, backHref: string, signal: AbortSignal): StudyState {
  return {
    studyInstanceUid,
    ctx,
    backHref,
    signal,
    destroyed: false,
    reasons: [],
    amending: new Set(),
    busy: new Set(),
    errors: new Map(),
    calibration: new Map(),
    inFlight: new Set(),
  };
}

export const findingsOf = (state: StudyState): Finding[] => state.detail?.findings ?? [];

export const selectedFinding = (state: StudyState): Finding | undefined => findingsOf(state).find((f) => f.id === state.selectedId);

/** The finding has a heatmap for the image on screen. */
export const heatmapOnScreen = (state: StudyState, f: Finding): boolean =>
  Boolean(f.heatmap) && f.sopInstanceUid === state.pane?.current()?.sopInstanceUid;

export const findingName = (f: Finding): string => clinical(f.display, f.displayZh);
