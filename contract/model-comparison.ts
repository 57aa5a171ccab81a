import { z } from 'zod';
import { siteFilter } from './studies.ts';

const instant = z.union([z.iso.datetime({ offset: true }), z.iso.date()], { error: 'an ISO date or date-time, e.g. 2026-11-01 or 2026-11-01T08:00:00Z' })
  .transform((s) => new Date(s));

/** `<model id>@<version>`, as the cards and pending-model lists name a model. */
const modelRef = z.string().max(160).regex(/^[A-Za-z0-9._-]+@[A-Za-z0-9._+-]+$/, { error: 'a model as id@version, e.g. pneumonia-cxr@1.1.0' })
  .transform((s) => ({ id: s.slice(0, s.indexOf('@')), version: s.slice(s.indexOf('@') + 1) }));

const window = {
  /** Defaults to the one label both cards share. */
  label: z.string().min(1).max(100).optional(),
  from: instant.optional(),
  to: instant.optional(),
  site: siteFilter,
};

/** `GET /v1/model-comparison?a=&b=&label=&from=&to=&site=&format=`. */
export const modelComparisonQuery = z.object({ a: modelRef, b: modelRef, ...window, format: z.enum(['json', 'csv']).default('json') }).strict();
/** `GET /v1/model-comparison/promotion?candidate=&incumbent=&label=&from=&to=&site=`. */
export const promotionQuery = z.object({ candidate: modelRef, incumbent: modelRef, ...window }).strict();

const interval = z.tuple([z.number(), z.number()]);
const proportion = z.object({ k: z.number().int(), n: z.number().int(), value: z.number(), ci95: interval });

const modelSide = z.object({
  modelId: z.string(),
  modelVersion: z.string(),
  /** The card's deployment state when the registry holds it (clinical, shadow, canary, evaluate-only; serve on older cards). */
  deployment: z.string().nullable(),
  studies: z.number().int(),
  /** Of those, the studies on which it ran in shadow (findings.deployment): stored, never shown to a clinician. */
  shadowStudies: z.number().int(),
  notApplicable: z.number().int(),
  notApplicableRate: z.number().nullable(),
  outOfDistribution: z.number().int(),
  outOfDistributionRate: z.number().nullable(),
  /** Per instance, the model's stages without the queue wait. */
  latencyMs: z.object({ p50: z.number(), p95: z.number() }).nullable(),
  /** Studies it answered that a reader decided: agreed with the reader (Wilson 95 % interval). */
  readerAgreement: proportion.nullable(),
});

export const modelComparison = z.object({
  generatedAt: z.string(),
  label: z.string(),
  a: modelSide,
  b: modelSide,
  /** Studies with findings of the label from both. */
  studies: z.number().int(),
  bothAnswered: z.number().int(),
  bothPositive: z.number().int(),
  bothNegative: z.number().int(),
  onlyAPositive: z.number().int(),
  onlyBPositive: z.number().int(),
  /** Cohen's kappa between the two, large-sample 95 % interval. */
  kappa: z.object({ value: z.number(), ci95: interval }).nullable(),
  /** Per UTC week (its Monday) of the reader's decision. */
  byWeek: z.array(z.object({ week: z.string(), decided: z.number().int(), aAgreed: z.number().int(), bAgreed: z.number().int() })),
  /**
   * Where the two disagree, newest first (at most 500): the study by its pseudonymous UID
   * (PS3.15, the research view's), never its real one — model teams see de-identified studies.
   */
  disagreements: z.array(z.object({
    pseudonymousStudyUid: z.string(),
    /** The de-identified study, for a model-team account (`GET`, research access); null when the patient's consent keeps the study at its site. */
    researchUrl: z.string().nullable(),
    aPositive: z.boolean(),
    bPositive: z.boolean(),
    readerSaysPositive: z.boolean().nullable(),
    decidedAt: z.string().nullable(),
  })),
  disagreementsLeftOut: z.number().int(),
}).meta({ id: 'ModelComparison' });

export const promotionChecklist = z.object({
  generatedAt: z.string(),
  label: z.string(),
  candidate: modelSide,
  incumbent: modelSide,
  decidedCases: z.number().int(),
  readerPositives: z.number().int(),
  /** Candidate − incumbent agreement with readers on the same decided studies; 95 % CI by bootstrap over patients. */
  difference: z.object({ value: z.number(), ci95: interval, resamples: z.number().int(), seed: z.number().int() }).nullable(),
  criteria: z.object({
    minDecidedCases: z.number().int(),
    minReaderPositives: z.number().int(),
    nonInferiorityMargin: z.number(),
    maxLatencyP95Ratio: z.number(),
    maxNotApplicableIncrease: z.number(),
  }),
  checks: z.array(z.object({
    id: z.enum(['decided-cases', 'reader-agreement', 'latency', 'not-applicable']),
    pass: z.boolean(),
    statement: z.string(),
    statementZh: z.string(),
  })),
  /** Every check passing promotes nothing: a person changes the card, and the change is audited when Lantern starts. */
  howToPromote: z.string(),
  howToPromoteZh: z.string(),
}).meta({ id: 'PromotionChecklist' });

/** `GET /v1/model-comparison/models`: what may be compared — every model version and label with answered findings, shadow runs included (at most 1,000). */
export const comparableModels = z.object({
  items: z.array(z.object({
    modelId: z.string(), modelVersion: z.string(), label: z.string(), display: z.string(), displayZh: z.string(),
    findings: z.number().int(),
    shadowFindings: z.number().int(),
  })),
}).meta({ id: 'ComparableModels' });

export type ModelComparisonQuery = z.input<typeof modelComparisonQuery>;
export type ComparableModels = z.infer<typeof comparableModels>;
export type ModelComparison = z.infer<typeof modelComparison>;
export type ModelSide = z.infer<typeof modelSide>;
export type PromotionChecklist = z.infer<typeof promotionChecklist>;
