import { createHash } from 'node:crypto';
export type { ReadAssistJob, ResultJob } from '../contract/jobs.ts';

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
