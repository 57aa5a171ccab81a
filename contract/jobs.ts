import { z } from 'zod';
import { findingInput } from './findings.ts';

/** A model card's deployment state (inference/model-card.ts; docs/models.md "Deployment states"). */
export const cardDeployment = z.enum(['clinical', 'shadow', 'canary', 'evaluate-only']);

/** Which studies a canary model is clinical for: its site is listed, or its Study Instance UID's stable hash falls under `share`. */
export const canarySelection = z.object({ share: z.number().min(0).max(1), sites: z.array(z.string().min(1)).max(100).optional() }).strict();

/**
 * What one run of a model on one study is: `clinical` (shown, drives triage) or `shadow`
 * (stored, never shown to clinicians). A canary model's run is one or the other per study.
 * Job data, result data and `findings.deployment` carry it; the load shedder sheds `shadow` jobs.
 */
export const runDeployment = z.enum(['clinical', 'shadow']);

/** One model reading one instance. Everything a worker needs is here or in the shared blob store. */
export const readAssistJob = z.object({
  sopInstanceUid: z.string().min(1),
  studyInstanceUid: z.string().min(1),
  blobSha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** `id@version` of the model to run; a worker without it fails the job visibly. */
  modelKey: z.string().min(1),
  /** Jobs queued before deployment states existed were all clinical. */
  deployment: runDeployment.default('clinical'),
});

/** What a worker hands back for the store to persist (workers never touch the database). */
export const resultJob = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('findings'), sopInstanceUid: z.string().min(1), modelKey: z.string().min(1), deployment: runDeployment.default('clinical'), findings: z.array(findingInput).min(1) }),
  z.object({
    kind: z.literal('failure'),
    sopInstanceUid: z.string().min(1),
    model: z.object({ id: z.string().min(1), version: z.string().min(1) }),
    error: z.object({ code: z.string().min(1), message: z.string() }),
    deployment: runDeployment.default('clinical'),
  }),
]);

export type CardDeployment = z.infer<typeof cardDeployment>;
export type CanarySelection = z.infer<typeof canarySelection>;
export type RunDeployment = z.infer<typeof runDeployment>;
/** As queued: the deployment is always said (the default is for jobs already in Redis). */
export type ReadAssistJob = z.infer<typeof readAssistJob>;
/** As handed back: a result that does not say its deployment is a clinical run's. */
export type ResultJob = z.input<typeof resultJob>;
