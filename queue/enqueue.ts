import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { READ_ASSIST_QUEUE, bullmqPriority, readAssistJobId, type ReadAssistJob } from './jobs.ts';

/** Retries for faults that may pass (a busy disk, a restarting Redis); bad input never gets here twice. */
const RETRY = { attempts: 3, backoff: { type: 'exponential' as const, delay: 1000 } };
const KEEP = { age: 7 * 24 * 3600, count: 100_000 };

export function createReadAssistQueue(options: { connection: Redis; prefix: string }) {
  const queue = new Queue<ReadAssistJob>(READ_ASSIST_QUEUE, { connection: options.connection, prefix: options.prefix });
  return {
    queue,
    /** Adds one job per model; ids are derived, so adding the same work again is a no-op. */
    async enqueue(base: Omit<ReadAssistJob, 'modelKey'>, modelKeys: string[], triagePriority: number): Promise<string[]> {
      const jobs = await queue.addBulk(modelKeys.map((modelKey) => ({
        name: 'read-assist',
        data: { ...base, modelKey },
        opts: { jobId: readAssistJobId(base.sopInstanceUid, modelKey), priority: bullmqPriority(triagePriority), removeOnComplete: KEEP, removeOnFail: KEEP, ...RETRY },
      })));
      return jobs.map((j) => j.id!);
    },
    /**
     * Moves an instance's waiting jobs to the study's new priority (a sicker patient's
     * film is read sooner). Jobs already running or done are left alone.
     */
    async reprioritise(sopInstanceUid: string, modelKeys: string[], triagePriority: number): Promise<void> {
      for (const modelKey of modelKeys) {
        const job = await queue.getJob(readAssistJobId(sopInstanceUid, modelKey));
        const state = await job?.getState();
        if (state === 'prioritized' || state === 'waiting') await job!.changePriority({ priority: bullmqPriority(triagePriority) });
      }
    },
    close: () => queue.close(),
  };
}

export type ReadAssistQueue = ReturnType<typeof createReadAssistQueue>;
