import { z } from 'zod';

const findingsJob = z.object({ kind: z.literal('findings'), sopInstanceUid: z.string().min(1), modelKey: z.string().min(1) });
const reviewJob = z.object({ kind: z.literal('review'), reviewId: z.string().regex(/^[0-9]+$/) });

/**
 * A job of the AI results push queue (pipeline/ai-results-sr.ts): send a written SR, stored
 * under `blobSha256`, to the configured destination.
 */
export const aiResultsPushJob = z.object({ kind: z.literal('push'), sopInstanceUid: z.string().min(1), blobSha256: z.string().regex(/^[0-9a-f]{64}$/) });

/**
 * Jobs of the AI results SR queue (pipeline/ai-results-sr.ts): write the preliminary SR of a
 * model's findings on an image, write the SR of a clinician's review. Each names what it is
 * about; the documents are read from the store when the job runs, so a job run twice writes
 * the same document.
 */
export type AiResultsSrJob = z.infer<typeof findingsJob> | z.infer<typeof reviewJob>;

/**
 * What the SR queue's worker accepts: its own jobs, and pushes queued in it before pushes had
 * a queue of their own (an upgrade finds them waiting there), which it moves to that queue.
 */
export const aiResultsSrJob = z.discriminatedUnion('kind', [findingsJob, reviewJob, aiResultsPushJob]);

export type AiResultsPushJob = z.infer<typeof aiResultsPushJob>;

/**
 * Where written AI results SRs are also sent (config.ts LANTERN_RESULTS_DESTINATION): a
 * DICOMweb base URL (STOW-RS to `<url>/studies`, with an optional bearer token) or a DIMSE
 * peer (C-STORE to AE title at host:port, from Lantern's calling AE title).
 */
export type ResultsDestination =
  | { kind: 'dicomweb'; url: string; token?: string }
  | { kind: 'dimse'; calledAe: string; host: string; port: number; callingAe: string };
