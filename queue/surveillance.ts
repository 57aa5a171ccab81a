import type { JobsOptions } from 'bullmq';

/** The queue of surveillance detection runs, under the configured prefix like the others. */
export const SURVEILLANCE_QUEUE = 'surveillance';

/**
 * One scheduler for the whole installation: BullMQ keeps one job scheduler per id however many
 * API processes upsert it, so the daily run is queued once a day, and taken by one of them.
 */
export const SURVEILLANCE_SCHEDULER_ID = 'surveillance-daily';

/** 00:30 local time: the day before is complete (late uploads of the evening are in). */
export const SURVEILLANCE_CRON = '30 0 * * *';

/** A run that fails (the database away) is retried for about an hour: 1 min doubling, 6 attempts. */
export const SURVEILLANCE_RETRY: Pick<JobsOptions, 'attempts' | 'backoff'> = { attempts: 6, backoff: { type: 'exponential', delay: 60_000 } };

/** A scheduled run: the local day to judge, when the job names one (else the day before it runs). */
export interface SurveillanceJob {
  day?: string;
}
