import type { TriageLevel } from '../contract/studies.ts';

/**
 * The degradation ladder: what Lantern gives up, in this order, when the AI queue cannot keep the
 * latency promise of each triage level (the triage-policy card's `aiResultTargetMinutes`), and
 * takes back, in the reverse order, when the pressure is gone.
 *
 *   0 normal
 *   1 shed-shadow              shadow-model jobs are deferred: work no clinician sees goes first
 *   2 skip-low-level-heatmaps  levels III–IV get findings without heatmaps (the finding says so)
 *   3 defer-level-iv           level IV jobs are deferred, so every worker is free for I–III
 *
 * This file is the decision only: a pure function of measured queue state (`decideStep`). The
 * API role's controller (pipeline/degradation-controller.ts) measures, decides, publishes the
 * step in Redis and audits the change; workers read the step and apply it (pipeline/read-assist-worker.ts).
 */
export const DEGRADATION_STEPS = ['normal', 'shed-shadow', 'skip-low-level-heatmaps', 'defer-level-iv'] as const;
export type DegradationStep = 0 | 1 | 2 | 3;
export type DegradationStepName = (typeof DEGRADATION_STEPS)[number];

/** One level's queue as measured: its waiting AI work and its promise. */
export interface LevelQueueState {
  level: TriageLevel;
  /** Age of the oldest job of this level that is waiting or deferred (not yet running); null when none is. */
  oldestWaitingMs: number | null;
  /** The level's upload → AI result target. */
  targetMs: number;
}

export interface LadderThresholds {
  /**
   * Pressure (oldest waiting age ÷ target) at which each step is entered: index 1 for step 1 … 3.
   * Steps 1–2 read the worst level; step 3 reads only levels I–III, because deferring level IV is
   * what step 3 does: its own growing wait must not hold the ladder at the step that causes it.
   */
  enter: [number, number, number, number];
  /** Pressure below which a step is left (lower than `enter`: the gap is the hysteresis). */
  leave: [number, number, number, number];
  /** Time a step is held before the ladder steps down from it, so one quiet moment does not undo it. */
  minHoldMs: number;
}

/** Enter early and cheap (shedding shadow work costs clinicians nothing); leave at well under half the entry pressure. */
export const DEFAULT_THRESHOLDS: LadderThresholds = { enter: [0, 0.25, 0.5, 0.5], leave: [0, 0.1, 0.25, 0.2], minHoldMs: 60_000 };

export interface LadderState {
  step: DegradationStep;
  /** When the current step was entered (ms since the epoch). */
  since: number;
}

export interface LadderDecision {
  step: DegradationStep;
  /** The worst level's pressure (all levels) and the worst of levels I–III. */
  pressure: { all: number; urgent: number };
  /** Levels whose oldest waiting job is past its target. */
  breaching: TriageLevel[];
  reason: string;
}

const ratio = (l: LevelQueueState) => (l.oldestWaitingMs === null ? 0 : l.oldestWaitingMs / l.targetMs);
const round = (v: number) => Math.round(v * 1000) / 1000;

/**
 * The next step: one step up when the pressure its step reads has reached its entry level (no hold:
 * urgency does not wait), one step down when the current step's pressure is below its leave level
 * and the step has been held `minHoldMs`; otherwise the same step. One step per decision, so every
 * step in between is passed through, in order, and logged.
 */
export function decideStep(state: LadderState, levels: LevelQueueState[], now: number, thresholds: LadderThresholds = DEFAULT_THRESHOLDS): LadderDecision {
  const all = round(Math.max(0, ...levels.map(ratio)));
  const urgent = round(Math.max(0, ...levels.filter((l) => l.level !== 'IV').map(ratio)));
  const pressureFor = (step: number) => (step === 3 ? urgent : all);
  const breaching = levels.filter((l) => ratio(l) > 1).map((l) => l.level);
  const pressure = { all, urgent };
  const { step } = state;
  if (step < 3 && pressureFor(step + 1) >= thresholds.enter[step + 1]) {
    const next = (step + 1) as DegradationStep;
    return { step: next, pressure, breaching, reason: `${next === 3 ? 'levels I–III' : 'the worst level'} at ${pressureFor(next)} of target ≥ ${thresholds.enter[next]}: entering ${DEGRADATION_STEPS[next]}` };
  }
  if (step > 0 && pressureFor(step) < thresholds.leave[step] && now - state.since >= thresholds.minHoldMs) {
    const next = (step - 1) as DegradationStep;
    return { step: next, pressure, breaching, reason: `pressure ${pressureFor(step)} of target < ${thresholds.leave[step]} for ${Math.round((now - state.since) / 1000)} s: leaving ${DEGRADATION_STEPS[step]}` };
  }
  return { step, pressure, breaching, reason: step === 0 ? 'within targets' : `holding ${DEGRADATION_STEPS[step]}` };
}

/** What a step means for one job: deferred (shadow work from step 1, level IV from step 3), or run without heatmaps (levels III–IV from step 2). */
export function jobPlan(step: DegradationStep, job: { level: TriageLevel | undefined; shadow: boolean }): { defer: boolean; skipHeatmaps: boolean } {
  const low = job.level === 'III' || job.level === 'IV';
  return {
    defer: (step >= 1 && job.shadow) || (step >= 3 && job.level === 'IV'),
    skipHeatmaps: step >= 2 && low,
  };
}
