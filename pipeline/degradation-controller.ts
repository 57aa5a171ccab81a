import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ModelRegistry } from '../inference/registry.ts';
import { checkPolicy } from '../inference/triage-policy/policy.ts';
import { logger } from '../log.ts';
import { decideStep, DEFAULT_THRESHOLDS, DEGRADATION_STEPS, type LadderDecision, type LadderThresholds } from '../queue/degradation.ts';
import { measureQueue, type DegradationStepStore, type LevelBand, type QueueMeasure, type SharedStep } from '../queue/latency.ts';
import type { DegradationChange } from '../store/degradation.ts';

/** The triage levels' priority ranges and AI result targets, from the triage-policy card. */
export function levelBands(registry: Pick<ModelRegistry, 'triagePolicy'>): LevelBand[] {
  return checkPolicy(registry.triagePolicy.card).levels.map((l) => ({ level: l.level, priority: l.priority, targetMs: l.aiResultTargetMinutes * 60_000 }));
}

export interface DegradationControllerOptions {
  queue: Queue;
  /** A connection to the queue's Redis (the API's own). */
  redis: Redis;
  steps: DegradationStepStore;
  bands: LevelBand[];
  /** Audits a change (store.recordDegradationStep): the controller runs where the database is. */
  record: (change: DegradationChange) => Promise<void>;
  intervalMs: number;
  /** Off: the queue is still measured (for /ready), a step in force is walked down, and none is taken. Default on. */
  enabled?: boolean;
  /** The ladder's hold (DEFAULT_THRESHOLDS otherwise); ignored when `thresholds` are given. */
  holdSeconds?: number;
  thresholds?: LadderThresholds;
}

/** The ladder turned off: never enter a step, leave any at once. */
const OFF: LadderThresholds = { enter: [Infinity, Infinity, Infinity, Infinity], leave: [Infinity, Infinity, Infinity, Infinity], minHoldMs: 0 };

/** What the controller last saw and decided: readiness reads it, so a probe costs no Redis round trip of its own. */
export interface LatencySnapshot {
  measure: QueueMeasure;
  decision: LadderDecision;
  shared: SharedStep;
}

/**
 * The adapter of the degradation ladder, in the API role. Why there and not in the workers: a
 * change is audited, and only the API touches the database; one decision for every worker keeps
 * them consistent (workers only read the step, pipeline/read-assist-worker.ts). Several API
 * processes may each run one: the step in Redis changes by compare-and-set, so each change is
 * made, logged and audited once; the audit is keyed by the change, so a retry after a failed
 * audit (the next tick re-reads and decides again) records nothing twice.
 */
export function createDegradationController(options: DegradationControllerOptions) {
  let last: LatencySnapshot | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;
  const thresholds = options.enabled === false ? OFF
    : options.thresholds ?? { ...DEFAULT_THRESHOLDS, minHoldMs: options.holdSeconds === undefined ? DEFAULT_THRESHOLDS.minHoldMs : options.holdSeconds * 1000 };

  async function tick(now = Date.now()): Promise<LatencySnapshot> {
    const [measure, shared] = await Promise.all([measureQueue(options.queue, options.redis, options.bands, now), options.steps.read()]);
    const decision = decideStep({ step: shared.step, since: shared.since || now }, measure.levels, now, thresholds);
    let current = shared;
    if (decision.step !== shared.step) {
      const change = await options.steps.change(shared, decision.step, now);
      if (change !== undefined) {
        current = { step: decision.step, since: now, change };
        const record = { change, since: now, from: DEGRADATION_STEPS[shared.step], to: DEGRADATION_STEPS[decision.step], reason: decision.reason, pressure: decision.pressure, breaching: decision.breaching };
        logger.warn({ ...record, levels: measure.levels }, `AI queue degradation: ${record.from} -> ${record.to}`);
        await options.record(record);
      }
    }
    last = { measure, decision, shared: current };
    return last;
  }

  return {
    tick,
    snapshot: () => last,
    start() {
      const loop = () => {
        running = tick().catch((error: unknown) => logger.error({ err: error }, 'degradation controller tick failed; the step stays as it is'))
          .finally(() => {
            if (stopped) return;
            timer = setTimeout(loop, options.intervalMs);
            timer.unref();
          });
      };
      loop();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

export type DegradationController = ReturnType<typeof createDegradationController>;
