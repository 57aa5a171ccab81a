import type { JobsOptions } from 'bullmq';

/** The queue of drift evaluations, under the configured prefix like the others. */
export const MODEL_DRIFT_QUEUE = 'model-drift';

/** One scheduler for the installation (BullMQ keeps one per id however many API processes upsert it). */
export const MODEL_DRIFT_SCHEDULER_ID = 'model-drift-hourly';

/** Hourly: a window of 200 inferences fills in hours on a busy installation, so an alert waits at most an hour past it. */
export const MODEL_DRIFT_EVERY_MS = 3_600_000;

/** A failed evaluation (the database away) is retried a few times within the hour. */
export const MODEL_DRIFT_RETRY: Pick<JobsOptions, 'attempts' | 'backoff'> = { attempts: 4, backoff: { type: 'exponential', delay: 60_000 } };
