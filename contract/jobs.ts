import { z } from 'zod';
import { findingInput } from './findings.ts';

/** One model reading one instance. Everything a worker needs is here or in the shared blob store. */
export const readAssistJob = z.object({
  sopInstanceUid: z.string().min(1),
  studyInstanceUid: z.string().min(1),
  blobSha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** `id@version` of the model to run; a worker without it fails the job visibly. */
  modelKey: z.string().min(1),
});

/** What a worker hands back for the store to persist (workers never touch the database). */
export const resultJob = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('findings'), sopInstanceUid: z.string().min(1), modelKey: z.string().min(1), findings: z.array(findingInput).min(1) }),
  z.object({
    kind: z.literal('failure'),
    sopInstanceUid: z.string().min(1),
    model: z.object({ id: z.string().min(1), version: z.string().min(1) }),
    error: z.object({ code: z.string().min(1), message: z.string() }),
  }),
]);

export type ReadAssistJob = z.infer<typeof readAssistJob>;
export type ResultJob = z.infer<typeof resultJob>;
