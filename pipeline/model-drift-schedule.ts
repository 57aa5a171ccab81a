import { Queue, Worker } from 'bullmq';
import { logger } from '../log.ts';
import { redisConnection } from '../queue/connection.ts';
import { stopWorkerWithin } from '../queue/worker-stop.ts';
import { MODEL_DRIFT_EVERY_MS, MODEL_DRIFT_QUEUE, MODEL_DRIFT_RETRY, MODEL_DRIFT_SCHEDULER_ID } from '../queue/model-drift.ts';
import type { ModelDriftMonitor } from './model-drift.ts';

/** Finished evaluations are kept a week: the queue shows when the last ones ran. */
const KEEP = { age: 7 * 24 * 3600 };

/**
 * The hourly drift evaluation, scheduled with a BullMQ job scheduler and consumed here, in the
 * API role, which owns the store (as pipeline/surveillance-schedule.ts does). At-least-once is
 * safe: alerts are raised by derived ids, so an evaluation run twice raises each once.
 */
export function scheduleModelDrift(options: { redisUrl: string; prefix: string; drift: Pick<ModelDriftMonitor, 'run'>; everyMs?: number }) {
  const connection = redisConnection(options.redisUrl);
  const queue = new Queue(MODEL_DRIFT_QUEUE, { connection, prefix: options.prefix });
  const scheduled = queue.upsertJobScheduler(MODEL_DRIFT_SCHEDULER_ID, { every: options.everyMs ?? MODEL_DRIFT_EVERY_MS },
    { name: 'model-drift-run', data: {}, opts: { ...MODEL_DRIFT_RETRY, removeOnComplete: KEEP, removeOnFail: KEEP } });
  scheduled.catch((error) => logger.error({ err: error }, 'model drift: the evaluation could not be scheduled; it is scheduled again at the next start'));
  const worker = new Worker(MODEL_DRIFT_QUEUE, async () => {
    const summary = await options.drift.run();
    logger.info({ models: summary.models.length, raised: summary.models.reduce((n, m) => n + m.raised.length, 0) }, 'model drift evaluation done');
    return summary;
  }, { connection, prefix: options.prefix, concurrency: 1 });
  worker.on('failed', (job, error) => logger.error({ err: error, attempt: job?.attemptsMade }, 'model drift evaluation failed'));
  return {
    /** Resolves once the scheduler is in Redis (for tests and start-up checks). */
    scheduled,
    queue,
    /** Waits `graceMs` for an evaluation in progress, then drops the connection under it (the next start evaluates again, to the same effect). */
    stop: (graceMs = 5_000) => stopWorkerWithin(worker, queue, connection, graceMs),
  };
}
