import { describe, expect, it } from 'vitest';
import { decideStep, DEFAULT_THRESHOLDS, jobPlan, type DegradationStep, type LevelQueueState } from './degradation.ts';

const MIN = 60_000;
/** Oldest waiting age per level, in minutes (null: nothing waiting), against the card's targets. */
function levels(waiting: Partial<Record<'I' | 'II' | 'III' | 'IV', number | null>>): LevelQueueState[] {
  const targets = { I: 2, II: 5, III: 15, IV: 60 } as const;
  return (Object.keys(targets) as (keyof typeof targets)[]).map((level) => ({
    level, targetMs: targets[level] * MIN, oldestWaitingMs: waiting[level] == null ? null : waiting[level]! * MIN,
  }));
}

/** Runs the ladder over a sequence of queue states, one decision per minute, and returns the steps taken. */
function walk(states: LevelQueueState[][], start: DegradationStep = 0): DegradationStep[] {
  let state = { step: start, since: 0 };
  return states.map((s, i) => {
    const now = (i + 1) * MIN;
    const { step } = decideStep(state, s, now);
    if (step !== state.step) state = { step, since: now };
    return step;
  });
}

describe('decideStep (the degradation ladder)', () => {
  it('when nothing waits, then normal, nothing breaching', () => {
    expect(decideStep({ step: 0, since: 0 }, levels({}), MIN)).toMatchObject({ step: 0, breaching: [], pressure: { all: 0, urgent: 0 } });
  });

  it('when the pressure keeps rising, then the steps come one at a time in the stated order: shed shadow, skip heatmaps, defer IV', () => {
    const flood = levels({ IV: 40, II: 3 });
    expect(walk([flood, flood, flood, flood])).toEqual([1, 2, 3, 3]);
  });

  it('when only level IV is late, then the ladder stops at skipping heatmaps: deferring IV would not help IV', () => {
    const onlyIv = levels({ IV: 50 });
    expect(walk([onlyIv, onlyIv, onlyIv, onlyIv])).toEqual([1, 2, 2, 2]);
  });

  it('when a level is past its target, then it is named as breaching', () => {
    expect(decideStep({ step: 0, since: 0 }, levels({ II: 6, IV: 30 }), MIN).breaching).toEqual(['II']);
  });

  it('when the pressure is gone, then it recovers one step at a time in reverse order, each only after the hold', () => {
    const quiet = levels({});
    const steps = walk([quiet, quiet, quiet, quiet, quiet, quiet], 3);
    // Held one minute (DEFAULT minHold) before each step down.
    expect(DEFAULT_THRESHOLDS.minHoldMs).toBe(MIN);
    expect(steps).toEqual([2, 1, 0, 0, 0, 0]);
  });

  it('when the pressure sits between leave and enter, then the step holds (hysteresis), neither up nor down', () => {
    // Level II at 0.4 of its target: above leaving step 2 (0.25), below entering step 3 (0.5).
    const between = levels({ II: 2 });
    expect(walk([between, between, between], 2)).toEqual([2, 2, 2]);
  });

  it('when pressure drops for less than the hold, then the step is kept', () => {
    const state = { step: 2 as const, since: 0 };
    expect(decideStep(state, levels({}), MIN - 1).step).toBe(2);
    expect(decideStep(state, levels({}), MIN).step).toBe(1);
  });

  it('when level IV\'s deferred work is old but levels I–III are quiet, then step 3 is left (IV does not hold the step that defers it) and step 2 holds while IV is late', () => {
    const deferredIv = levels({ IV: 55 });
    expect(walk([deferredIv, deferredIv], 3)).toEqual([2, 2]);
  });

  it('when a step is in force, then each job is planned by it: shadow deferred from 1, III–IV without heatmaps from 2, IV deferred at 3; I–II always run whole', () => {
    const plans = ([0, 1, 2, 3] as const).map((step) => [
      jobPlan(step, { level: 'II', shadow: false }), jobPlan(step, { level: 'II', shadow: true }),
      jobPlan(step, { level: 'III', shadow: false }), jobPlan(step, { level: 'IV', shadow: false }),
    ].map((p) => (p.defer ? 'defer' : p.skipHeatmaps ? 'no-heatmap' : 'run')));
    expect(plans).toEqual([
      ['run', 'run', 'run', 'run'],
      ['run', 'defer', 'run', 'run'],
      ['run', 'defer', 'no-heatmap', 'no-heatmap'],
      ['run', 'defer', 'no-heatmap', 'defer'],
    ]);
  });
});
