import { createHash } from 'node:crypto';
import type { FindingInput } from '../store/types.ts';

/** Queue names. Both are created under the configured prefix, so several Lanterns can share a Redis. */
export const READ_ASSIST_QUEUE = 'read-assist';
export const RESULTS_QUEUE = 'results';

/** One model reading one instance. Everything a worker needs is here or in the shared blob store. */
export interface ReadAssistJob {
  sopInstanceUid: string;
  studyInstanceUid: string;
  blobSha256: string;
  /** `id@version` of the model to run; a worker without it fails the job visibly. */
  modelKey: string;
}

/** What a worker hands back for the store to persist (workers never touch the database). */
export type ResultJob =
  | { kind: 'findings'; sopInstanceUid: string; modelKey: string; findings: FindingInput[] }
  | { kind: 'failure'; sopInstanceUid: string; model: { id: string; version: string }; error: { code: string; message: string } };

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
