import { z } from 'zod';

/**
 * Jobs of the AI results SR queue (pipeline/ai-results-sr.ts): write the preliminary SR of a
 * model's findings on an image, write the SR of a clinician's review, push a written SR to
 * the configured destination. Each names what it is about; the documents are read from the
 * store when the job runs, so a job run twice writes the same document.
 */
export const aiResultsSrJob = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('findings'), sopInstanceUid: z.string().min(1), modelKey: z.string().min(1) }),
  z.object({ kind: z.literal('review'), reviewId: z.string().regex(/^[0-9]+$/) }),
  z.object({ kind: z.literal('push'), sopInstanceUid: z.string().min(1), blobSha256: z.string().regex(/^[0-9a-f]{64}$/) }),
]);

export type AiResultsSrJob = z.infer<typeof aiResultsSrJob>;

/**
 * Where written AI results SRs are also sent (config.ts LANTERN_RESULTS_DESTINATION): a
 * DICOMweb base URL (STOW-RS to `<url>/studies`, with an optional bearer token) or a DIMSE
 * peer (C-STORE to AE title at host:port, from Lantern's calling AE title).
 */
export type ResultsDestination =
  | { kind: 'dicomweb'; url: string; token?: string }
  | { kind: 'dimse'; calledAe: string; host: string; port: number; callingAe: string };
