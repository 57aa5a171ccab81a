import { createHash } from 'node:crypto';
import type { RunDeployment } from '../contract/jobs.ts';
export type { ReadAssistJob, ResultJob, RunDeployment } from '../contract/jobs.ts';

/** Queue names. Both are created under the configured prefix, so several Lanterns can share a Redis. */
export const READ_ASSIST_QUEUE = 'read-assist';
export const RESULTS_QUEUE = 'results';

/**
 * Derived from instance + model id + version: a re-upload, a retry or a second run of
 * the same work maps to the same job, which BullMQ adds only once.
 */
export function readAssistJobId(sopInstanceUid: string, modelKey: string): string {
  return `ra-${createHash('sha256').update(`${sopInstanceUid}|${modelKey}`).digest('hex').slice(0, 40)}`;
}

export const resultJobId = (readAssistId: string) => `${readAssistId}-result`;

/** BullMQ runs lower numbers first; triage priority 100 (most urgent) maps to 1. */
export const bullmqPriority = (triagePriority: number) => 1 + Math.round((100 - Math.min(100, Math.max(0, triagePriority))) * 10);

/** One model to run on an instance, and whether its run is clinical or shadow (job data `deployment`). */
export interface QueuedModel {
  modelKey: string;
  deployment: RunDeployment;
}

/**
 * Shadow work waits behind every clinical job: its BullMQ priority starts past the least urgent
 * clinical one (1001), keeping the study's triage order among shadow jobs. The worker is the
 * same and shadow jobs are separate, so a shadow job never holds a clinical one up by more than
 * the one job a worker slot may be running when clinical work arrives.
 */
export const SHADOW_PRIORITY_OFFSET = bullmqPriority(0);

export const jobPriority = (triagePriority: number, deployment: RunDeployment) =>
  bullmqPriority(triagePriority) + (deployment === 'shadow' ? SHADOW_PRIORITY_OFFSET : 0);
