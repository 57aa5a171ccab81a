import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { logger } from '../log.ts';
import { READ_ASSIST_QUEUE, bullmqPriority, jobPriority, readAssistJobId, type QueuedModel, type ReadAssistJob } from './jobs.ts';

/** Retries for faults that may pass (a busy disk, a restarting Redis); bad input never gets here twice. */
const RETRY = { attempts: 3, backoff: { type: 'exponential' as const, delay: 1000 } };
const KEEP = { age: 7 * 24 * 3600, count: 100_000 };

/**
 * How long a request waits for its Redis commands. Redis answers in well under a millisecond;
 * past this it is failing, and the request goes on without it (see `within`).
 */
export const REQUEST_REDIS_WAIT_MS = 500;

export function createReadAssistQueue(options: { connection: Redis; prefix: string }) {
  const queue = new Queue<ReadAssistJob>(READ_ASSIST_QUEUE, { connection: options.connection, prefix: options.prefix });
  // Set when a request's wait ran out on a connected Redis, cleared when any work completes: a
  // stalled Redis costs one wait, not one per part of a 100-part upload.
  let stalled = false;
  return {
    queue,
    /**
     * Adds one job per model, its data marked `deployment` (shadow jobs behind all clinical ones,
     * queue/jobs.ts jobPriority); ids are derived, so adding the same work again is a no-op.
     */
    async enqueue(base: Omit<ReadAssistJob, 'modelKey' | 'deployment'>, models: QueuedModel[], triagePriority: number): Promise<string[]> {
      const jobs = await queue.addBulk(models.map(({ modelKey, deployment }) => ({
        name: 'read-assist',
        data: { ...base, modelKey, deployment },
        opts: { jobId: readAssistJobId(base.sopInstanceUid, modelKey), priority: jobPriority(triagePriority, deployment), removeOnComplete: KEEP, removeOnFail: KEEP, ...RETRY },
      })));
      return jobs.map((j) => j.id!);
    },
    /**
     * Moves an instance's waiting clinical jobs (`modelKeys`) to the study's new priority (a sicker
     * patient's film is read sooner). Jobs already running or done are left alone; shadow jobs stay behind.
     */
    async reprioritise(sopInstanceUid: string, modelKeys: string[], triagePriority: number): Promise<void> {
      for (const modelKey of modelKeys) {
        const job = await queue.getJob(readAssistJobId(sopInstanceUid, modelKey));
        const state = await job?.getState();
        if (state === 'prioritized' || state === 'waiting') await job!.changePriority({ priority: bullmqPriority(triagePriority) });
      }
    },
    /**
     * Whether `work` (commands to this queue's Redis) finished within `waitMs` — not waiting at
     * all while the connection is down, when ioredis holds commands until it reconnects and a
     * request awaiting them would hang for as long as Redis is away, nor while Redis is stalled
     * (connected, but a wait ran out and nothing has completed since). Late work is not
     * cancelled: held commands run when Redis returns (job ids are derived, so running twice
     * adds nothing), and a later failure is logged. Work that fails in time throws. For
     * requests; the reconciler, which has nobody waiting, awaits its commands whole.
     */
    async within(work: Promise<unknown>, waitMs: number): Promise<boolean> {
      const late = work.then(() => {
        stalled = false;
        return true;
      }, (error: unknown) => {
        if (!answered) throw error;
        logger.warn({ err: error }, 'Redis work a request stopped waiting for failed; reconciliation queues it again');
        return false;
      });
      let answered = false;
      let timer: NodeJS.Timeout | undefined;
      const wait = options.connection.status === 'ready' && !stalled ? waitMs : 0;
      const timeout = new Promise<false>((resolve) => { timer = setTimeout(resolve, wait, false); });
      try {
        const inTime = await Promise.race([late, timeout]);
        if (!inTime && wait > 0) stalled = true;
        return inTime;
      } finally {
        answered = true;
        clearTimeout(timer);
      }
    },
    close: () => queue.close(),
  };
}

export type ReadAssistQueue = ReturnType<typeof createReadAssistQueue>;
