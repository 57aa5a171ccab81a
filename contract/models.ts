import { z } from 'zod';
import { canarySelection, cardDeployment } from './jobs.ts';

/** A figure the card states, on a named split, with its 95 % interval where one was computed. */
export const cardMetric = z.object({
  name: z.string(),
  split: z.string(),
  value: z.number(),
  ci95: z.tuple([z.number(), z.number()]).optional(),
  method: z.string().optional(),
  n: z.number().int().optional(),
});

/** A band of a risk or score: `below` is its exclusive upper bound in the answer's unit; the last has none. */
export const band = z.object({
  label: z.string(),
  display: z.string(),
  displayZh: z.string().optional(),
  below: z.number().optional(),
});

/**
 * `GET /v1/models` and `/v1/models/{id}`: what a user of a model needs to know before
 * trusting it — the card's facts, and for calculators (risk, score) the JSON Schema of
 * the body `POST /v1/risk/{id}` takes.
 */
export const modelDescription = z.object({
  id: z.string(),
  version: z.string(),
  task: z.enum(['read-assist', 'risk', 'score', 'triage']),
  title: z.string(),
  titleZh: z.string().optional(),
  /** SHA-256 of the weights (of the card, for declarative models). */
  sha256: z.string(),
  intendedUse: z.string(),
  limitations: z.array(z.string()),
  metrics: z.array(cardMetric),
  aiAssisted: z.string(),
  /**
   * Read-assist models: where the version's answers go (docs/models.md "Deployment states") —
   * `clinical`, `shadow` (stored for the model team, never shown to clinicians), `canary` (clinical
   * for the studies `canary` selects, shadow for the rest) or `evaluate-only` (not run on incoming
   * studies); `deploymentNote` says why. Calculators answer whoever asks and carry none.
   */
  deployment: cardDeployment.optional(),
  canary: canarySelection.optional(),
  deploymentNote: z.string().optional(),
  /** Method and calibration error as the card states them. */
  calibration: z.record(z.string(), z.unknown()).optional(),
  bands: z.array(band).optional(),
  population: z.string().optional(),
  outcome: z.string().optional(),
  /** JSON Schema (2020-12) of the calculator's inputs. */
  inputSchema: z.record(z.string(), z.unknown()).optional(),
}).meta({ id: 'ModelDescription' });

export const modelList = z.object({ items: z.array(modelDescription) }).meta({ id: 'ModelList' });

export type CardMetric = z.infer<typeof cardMetric>;
export type Band = z.infer<typeof band>;
export type ModelDescription = z.infer<typeof modelDescription>;
