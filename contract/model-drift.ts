import { z } from 'zod';

/**
 * Drift monitoring per model (`/v1/models/{modelId}/drift`): per model version, a reference
 * (its first inferences) and consecutive windows of inferences after it, each with the
 * Population Stability Index of every monitored quantity against the reference, its output
 * rates and its acceptance; and the alerts raised where a window departed.
 */

/** What is compared window by window: the OOD score, the input summary (inference/input-stats.ts), and the output class. */
export const driftQuantity = z.enum(['ood-score', 'input-mean', 'input-sd', 'input-p05', 'input-p95', 'outcome']);

export const driftPolicy = z.object({
  /** The first this-many inferences of a model version are its reference. */
  referenceSize: z.number().int().positive(),
  /** Inferences per window after the reference; only full windows are compared and alert. */
  windowSize: z.number().int().positive(),
  thresholds: z.object({ moderate: z.number(), drift: z.number() }),
});

/** Shares of a window's inferences by output: positive, refer band, negative, not applicable (population or OOD gate). */
export const outcomeRates = z.object({ positive: z.number(), refer: z.number(), negative: z.number(), notApplicable: z.number() });

export const driftWindow = z.object({
  index: z.number().int().min(0),
  from: z.string(),
  to: z.string(),
  size: z.number().int().min(0),
  /** False for the window still filling: shown, never alerting. */
  complete: z.boolean(),
  /** PSI per quantity against the reference; null where there is nothing to compare (no OOD check, no input summary, a constant reference). */
  psi: z.record(driftQuantity, z.number().nullable()),
  rates: outcomeRates,
  /** Reviewed findings of this window's inferences, and the share readers accepted (null with none reviewed). */
  acceptance: z.object({ reviewed: z.number().int().min(0), accepted: z.number().int().min(0), share: z.number().nullable() }),
});

export const driftAlert = z.object({
  id: z.string(),
  modelId: z.string(),
  modelVersion: z.string(),
  quantity: driftQuantity,
  windowIndex: z.number().int().min(0),
  psi: z.number(),
  /** What it was raised on: reference and window bounds and sizes, bins, the threshold. */
  evidence: z.record(z.string(), z.unknown()),
  status: z.enum(['open', 'acknowledged']),
  raisedAt: z.string(),
  acknowledgement: z.object({ by: z.string(), at: z.string(), note: z.string() }).optional(),
}).meta({ id: 'ModelDriftAlert' });

export const versionDrift = z.object({
  version: z.string(),
  inferences: z.number().int().min(0),
  /** Null until the version has made referenceSize inferences. */
  reference: z.object({ from: z.string(), to: z.string(), size: z.number().int(), rates: outcomeRates }).nullable(),
  windows: z.array(driftWindow),
});

export const modelDrift = z.object({
  modelId: z.string(),
  policy: driftPolicy,
  versions: z.array(versionDrift),
  alerts: z.array(driftAlert),
  aiAssisted: z.string(),
}).meta({ id: 'ModelDrift' });

export const modelDriftParams = z.object({ modelId: z.string().min(1).max(200) });
export const modelDriftAlertParams = z.object({ id: z.string().min(1).max(200) });
export const modelDriftAcknowledgeRequest = z.object({ note: z.string().trim().min(1).max(2000) }).meta({ id: 'ModelDriftAcknowledgeRequest' });
export const modelDriftRunSummary = z.object({
  models: z.array(z.object({ modelId: z.string(), versions: z.number().int(), windows: z.number().int(), raised: z.array(z.string()) })),
}).meta({ id: 'ModelDriftRunSummary' });

export type DriftQuantity = z.infer<typeof driftQuantity>;

/** A drift alert to raise (inference/drift/windows.ts decides, store/model-drift.ts keeps): its id derives from model, version, quantity and window, so raising it twice is one alert. */
export interface DriftAlertInput {
  id: string;
  modelId: string;
  modelVersion: string;
  quantity: DriftQuantity;
  windowIndex: number;
  psi: number;
  evidence: Record<string, unknown>;
}
export type DriftPolicy = z.infer<typeof driftPolicy>;
export type OutcomeRates = z.infer<typeof outcomeRates>;
export type DriftWindow = z.infer<typeof driftWindow>;
export type DriftAlert = z.infer<typeof driftAlert>;
export type VersionDrift = z.infer<typeof versionDrift>;
export type ModelDrift = z.infer<typeof modelDrift>;
export type ModelDriftRunSummary = z.infer<typeof modelDriftRunSummary>;
