import { z } from 'zod';
import { applicability } from './findings.ts';
import { triageResult } from './studies.ts';

/**
 * What the calculators answer (`POST /v1/risk/{id}` for a risk model or a published score,
 * `POST /v1/triage` for the triage policy over several of them), and the triage request.
 */

/** The exact model an answer came from. */
export const modelReference = z.object({
  id: z.string(),
  version: z.string(),
  title: z.string(),
  /** SHA-256 of the weights (of the card, for declarative models). */
  sha256: z.string(),
});

/** An input outside what the model was validated on: answered and flagged, never hidden. */
export const rangeWarning = z.object({
  feature: z.string(),
  code: z.enum(['OUTSIDE_VALIDATED_RANGE', 'OUTSIDE_VALIDATED_POPULATION']),
  message: z.string(),
});

const answerBand = z.object({
  label: z.string(),
  display: z.string(),
  displayZh: z.string().optional(),
  /** Set when a band rule, not the total, decided a score's band. */
  rule: z.string().optional(),
});

/** Shared by every calculator answer. */
const calculation = {
  model: modelReference,
  outcome: z.string(),
  band: answerBand,
  /** What the model used: each given input's canonical value and unit. */
  inputs: z.record(z.string(), z.object({ value: z.union([z.number(), z.boolean(), z.string()]), unit: z.string().optional() })),
  warnings: z.array(rangeWarning),
  withinValidatedRange: z.boolean(),
  aiAssisted: z.string(),
  timingMs: z.number(),
};

export const riskAnswer = z.object({
  ...calculation,
  horizon: z.string(),
  /** 0..1 */
  risk: z.number().min(0).max(1),
  riskPercent: z.number(),
  /** Each term's exact additive part of the linear predictor, largest magnitude first, on the `explanationKind` scale. */
  contributions: z.array(z.object({ term: z.string(), display: z.string(), displayZh: z.string().optional(), value: z.number() })),
  explanationKind: z.enum(['log-hazard', 'log-odds', 'points']),
}).meta({ id: 'RiskAnswer' });

export const scoreAnswer = z.object({
  ...calculation,
  score: z.number(),
  /** Each row of the table that gave points, and why. */
  terms: z.array(z.object({ term: z.string(), display: z.string(), displayZh: z.string().optional(), points: z.number(), because: z.string() })),
  redFlags: z.array(z.string()).optional(),
  /** For a score whose card declares a population gate: applicable, with what could not be checked (e.g. `AGE_NOT_RECORDED`). */
  applicability: applicability.pick({ applicable: true, caveats: true }).extend({ applicable: z.literal(true) }).optional(),
}).meta({ id: 'ScoreAnswer' });

/**
 * A score whose card's population does not cover the patient (NEWS2 for a child): no score, no
 * band, the reason instead, as a read-assist model declines an image. It never reaches triage.
 */
export const scoreNotApplicable = z.object({
  model: modelReference,
  outcome: z.string(),
  applicability: z.object({ applicable: z.literal(false), reason: applicability.shape.reason.unwrap(), caveats: applicability.shape.caveats }),
  inputs: calculation.inputs,
  aiAssisted: z.string(),
  timingMs: z.number(),
}).meta({ id: 'ScoreNotApplicable' });

export const calculationAnswer = z.union([riskAnswer, scoreAnswer, scoreNotApplicable]).meta({ id: 'CalculationAnswer' });

/** An imaging finding from elsewhere, for a patient without a study here. */
const externalFinding = z.object({
  label: z.string(),
  display: z.string(),
  probability: z.number().min(0).max(1),
  positive: z.boolean(),
  refer: z.boolean().optional(),
  modelId: z.string(),
}).strict();

/** `POST /v1/triage`. */
export const triageRequest = z.object({
  /** Attach the assessment to a received study: it re-prioritises the worklist and the study's queued jobs. */
  studyInstanceUid: z.string().min(1).max(64).optional(),
  /** Score model id → its inputs, e.g. { "news2": { "respiratoryRate": 22, … } }. */
  scores: z.record(z.string(), z.unknown()).default({}),
  /** Risk model id → its inputs. */
  risks: z.record(z.string(), z.unknown()).default({}),
  findings: z.array(externalFinding).optional(),
}).strict().refine((b) => !(b.studyInstanceUid && b.findings), { message: 'give either studyInstanceUid (its findings are used) or findings, not both', path: ['findings'] });

export const triageAnswer = z.object({
  /** The policy's answer and the policy card that gave it. */
  triage: triageResult.extend({ policy: modelReference.partial({ title: true }) }),
  scores: z.record(z.string(), scoreAnswer),
  /** Scores asked for whose card's population does not cover the patient: not in the triage, each with its reason. */
  notApplicable: z.record(z.string(), scoreNotApplicable).optional(),
  risks: z.record(z.string(), riskAnswer),
  /** Present when the assessment was stored on this study. */
  studyInstanceUid: z.string().optional(),
  aiAssisted: z.string(),
}).meta({ id: 'TriageAnswer' });

export type ModelReference = z.infer<typeof modelReference>;
export type RangeWarning = z.infer<typeof rangeWarning>;
export type RiskAnswer = z.infer<typeof riskAnswer>;
export type ScoreAnswer = z.infer<typeof scoreAnswer>;
export type ScoreNotApplicable = z.infer<typeof scoreNotApplicable>;
export type CalculationAnswer = z.infer<typeof calculationAnswer>;
export type TriageRequest = z.input<typeof triageRequest>;
export type TriageAnswer = z.infer<typeof triageAnswer>;
