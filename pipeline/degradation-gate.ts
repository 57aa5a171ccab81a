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
 * (cached for `refreshMs`, so a job costs no extra round trip) and plans each job by it and the
 * job's triage level, which its BullMQ priority carries. A deferred job is moved to delayed with
 * its priority and its upload time kept, so it runs, at its place, once the step is left; a job run
 * twice is planned twice, and deferring again is harmless (at-least-once). If Redis cannot be read
 * the last step read stands (normal at start): the ladder fails towards doing the full work.
 */
export function createDegradationGate(options: DegradationGateOptions) {
  const steps = degradationStepStore(options.redis, options.prefix);
  const bands = bullmqBands(levelBands(options.registry));
  let step: DegradationStep = 0;
  let readAt = 0;
  let reading: Promise<void> | undefined;

  async function currentStep(): Promise<DegradationStep> {
    if (Date.now() - readAt >= options.refreshMs) {
      reading ??= steps.read().then((shared) => { step = shared.step; }, (error: unknown) => logger.warn({ err: error }, 'could not read the degradation step; keeping the last one'))
        .finally(() => { readAt = Date.now(); reading = undefined; });
      await reading;
    }
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
