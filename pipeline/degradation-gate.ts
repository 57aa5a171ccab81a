import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ModelRegistry } from '../inference/registry.ts';
import { jobPlan, type DegradationStep } from '../queue/degradation.ts';
import { bullmqBands, degradationStepStore, levelOfPriority } from '../queue/latency.ts';
import { logger } from '../log.ts';
import { levelBands } from './degradation-controller.ts';

export interface DegradationGateOptions {
  redis: Redis;
  prefix: string;
  registry: Pick<ModelRegistry, 'triagePolicy'>;
  /** How long the step read from Redis is trusted (the controller decides about this often). */
  refreshMs: number;
  /** How long a deferred job waits before it is looked at again: the ladder's hold, the soonest it can step down. */
  deferMs: number;
}

/**
 * The worker's side of the degradation ladder: reads the step the API's controller set in Redis
 * and plans each job by it and the job's triage level, which its BullMQ priority carries. A
 * deferred job is moved to delayed with its priority and its upload time kept, so it runs, at its
 * place, once the step is left; a job run twice is planned twice, and deferring again is harmless
 * (at-least-once). If Redis cannot be read the last step read stands (normal at start): the ladder
 * fails towards doing the full work.
 *
 * Freshness: a job is planned by a step read at most `refreshMs` before it. A read older than half
 * of that is renewed in the background while the job goes on with it, so a steady flow of jobs
 * never waits on Redis for the step; only a job after a quiet spell longer than `refreshMs` (or
 * the first, or every job when `refreshMs` is 0) waits for one round trip. Awaiting the read every
 * `refreshMs` put that round trip on one study in about thirteen at 150 ms a study, and on a
 * loaded machine it took tens of milliseconds (up to ~100 ms in issue 16's measurements).
 */
export function createDegradationGate(options: DegradationGateOptions) {
  const steps = degradationStepStore(options.redis, options.prefix);
  const bands = bullmqBands(levelBands(options.registry));
  let step: DegradationStep = 0;
  let readAt = 0;
  let reading: Promise<void> | undefined;

  /** One read at a time; `readAt` is when it was sent, so the step's age is never understated. */
  function refresh(): Promise<void> {
    const sentAt = Date.now();
    reading ??= steps.read().then((shared) => { step = shared.step; }, (error: unknown) => logger.warn({ err: error }, 'could not read the degradation step; keeping the last one'))
      .finally(() => { readAt = sentAt; reading = undefined; });
    return reading;
  }

  async function currentStep(): Promise<DegradationStep> {
    const age = Date.now() - readAt;
    if (age >= options.refreshMs) await refresh();
    else if (age >= options.refreshMs / 2) void refresh();
    return step;
  }

  return {
    /** The plan for `job`: deferred until `deferUntil`, or run with or without heatmaps. */
    async plan(job: Job<{ deployment?: string }>): Promise<{ step: DegradationStep; deferUntil?: number; skipHeatmaps: boolean }> {
      const now = await currentStep();
      const plan = jobPlan(now, { level: levelOfPriority(bands, job.priority), shadow: job.data.deployment === 'shadow' });
      return { step: now, skipHeatmaps: plan.skipHeatmaps, ...(plan.defer ? { deferUntil: Date.now() + options.deferMs } : {}) };
    },
  };
}

export type DegradationGate = ReturnType<typeof createDegradationGate>;
