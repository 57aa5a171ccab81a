import { Queue, Worker } from 'bullmq';
import { logger } from '../log.ts';
import { redisConnection } from '../queue/connection.ts';
import { SURVEILLANCE_CRON, SURVEILLANCE_QUEUE, SURVEILLANCE_RETRY, SURVEILLANCE_SCHEDULER_ID, type SurveillanceJob } from '../queue/surveillance.ts';
import { stopWorkerWithin } from '../queue/worker-stop.ts';
import { localDate, type Surveillance } from './surveillance.ts';

/** Finished runs are kept a month: the queue shows when the last ones ran. */
const KEEP = { age: 31 * 24 * 3600 };

/**
 * The daily detection run, scheduled with a BullMQ job scheduler at 00:30 in the installation's
 * time zone and consumed here. Runs in the API role, which owns the store (the worker role never
 * opens the database). At-least-once is safe: a run recomputes counts and raises alerts by their
 * derived ids, so a job run twice — or by two API processes — raises each alert once. A day
 * missed while Lantern was down is run by an admin (`POST /v1/surveillance/run { date }`).
 */
export function scheduleSurveillance(options: { redisUrl: string; prefix: string; surveillance: Surveillance }) {
  const { surveillance } = options;
  const connection = redisConnection(options.redisUrl);
  const queue = new Queue<SurveillanceJob>(SURVEILLANCE_QUEUE, { connection, prefix: options.prefix });
  const scheduled = queue.upsertJobScheduler(SURVEILLANCE_SCHEDULER_ID, { pattern: SURVEILLANCE_CRON, tz: surveillance.timeZone },
    { name: 'surveillance-run', data: {}, opts: { ...SURVEILLANCE_RETRY, removeOnComplete: KEEP, removeOnFail: KEEP } });
  scheduled.catch((error) => logger.error({ err: error }, 'surveillance: the daily run could not be scheduled; it is scheduled again at the next start'));
  const worker = new Worker<SurveillanceJob>(SURVEILLANCE_QUEUE, async (job) => {
    const summary = await surveillance.run(job.data.day ?? localDate(surveillance.timeZone, -1));
    logger.info({ day: summary.day, signals: summary.signals, raised: summary.raised.length, withdrawn: summary.withdrawn.length }, 'surveillance run done');
    return summary;
  }, { connection, prefix: options.prefix, concurrency: 1 });
  worker.on('failed', (job, error) => logger.error({ err: error, attempt: job?.attemptsMade }, 'surveillance run failed'));
  return {
    /** Resolves once the scheduler is in Redis (for tests and start-up checks). */
    scheduled,
    queue,
    /** Waits `graceMs` for a run in progress, then leaves it to the next start (a run is idempotent). */
    stop: (graceMs = 5_000) => stopWorkerWithin(worker, queue, connection, graceMs),
  };
}
