import { z } from 'zod';

/**
 * The AI finding as it crosses the queue (worker → results consumer) and HTTP (API →
 * viewer). One schema, its types inferred: the server persists and presents these, the
 * viewer imports the types (type-only), and `npm run typecheck` checks both against them.
 */

/** One reason or caveat about whether a model may answer on an image, in both languages. */
export const applicabilityNote = z.object({
  code: z.string().min(1),
  text: z.string().min(1),
  textZh: z.string().min(1),
});

/**
 * Whether the image lies inside the population and images the model's card declares
 * (inference/applicability.ts). Not applicable: the finding has no probability and counts
 * nothing toward priority; `reason` says why. Caveats: attributes that could not be
 * checked, answered anyway because the card says so.
 */
export const applicability = z.object({
  applicable: z.boolean(),
  reason: applicabilityNote.optional(),
  caveats: z.array(applicabilityNote),
  /** The graph's out-of-distribution score and the card's threshold, when the model ran. */
  outOfDistribution: z.object({ score: z.number(), threshold: z.number() }).optional(),
});

/**
 * A summary of the preprocessed model input, computed once per image by the worker
 * (inference/input-stats.ts): what drift monitoring compares between windows of inferences.
 */
export const inputStats = z.object({
  mean: z.number(),
  sd: z.number().min(0),
  p05: z.number(),
  p95: z.number(),
});

/** The exact model a finding came from. */
export const modelProvenance = z.object({
  id: z.string().min(1),
  version: z.string().min(1),
  weightsSha256: z.string().min(1),
  /** `preprocessing.id@version` of the card. */
  preprocessing: z.string().min(1),
  /**
   * Original pixels per decoded pixel of the frame the model's input was made from: 1 at full
   * resolution, 2^r when decoded at resolution level r (dicom/decode). Absent when nothing was
   * decoded (not applicable) and on findings made before reduced decoding.
   */
  decodeScale: z.number().int().positive().optional(),
});

/** Row-major map in [0, 1] over `region`: the square of the original image (pixels) the model saw. */
export const heatmap = z.object({
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  data: z.array(z.number()),
  region: z.object({ left: z.number().int().min(0), top: z.number().int().min(0), size: z.number().int().positive() }),
}).refine((h) => h.data.length === h.width * h.height, { message: 'data has width × height values', path: ['data'] });

/** What one model says about one label on one image, as a worker hands it back. */
export const findingInput = z.object({
  /** Deterministic (instance, model, label): a re-run writes the same row. */
  id: z.string().min(1),
  label: z.string().min(1),
  display: z.string().min(1),
  /** Null when the model is not applicable to the image: it gives no probability there. */
  probability: z.number().min(0).max(1).nullable(),
  positive: z.boolean(),
  /** Inside the model's refer band: too uncertain to hint either way; a human read decides. */
  refer: z.boolean(),
  operatingPoint: z.object({ name: z.string(), threshold: z.number() }),
  model: modelProvenance,
  /** Milliseconds per stage that ran (parse, decode, preprocess, inference, postprocess, queueWait). */
  timingMs: z.record(z.string(), z.number()),
  heatmap: heatmap.optional(),
  /** Absent on findings made before the population gate existed (they were all answered). */
  applicability: applicability.optional(),
  /** The model input's summary; absent when the image was never decoded (outside the population) and on findings made before drift monitoring. */
  inputStats: inputStats.optional(),
});

export const decision = z.enum(['accept', 'override']);

/** A reader's decision on a finding; a later one on the same finding amends it. */
export const review = z.object({
  id: z.string(),
  findingId: z.string(),
  decision,
  reasonCode: z.string().optional(),
  comment: z.string().optional(),
  reviewer: z.string(),
  createdAt: z.string(),
  /** Set when this decision amends an earlier one on the same finding: that review's id. */
  amends: z.string().optional(),
}).meta({ id: 'Review' });

/** `POST /v1/findings/{id}/review` answers the decision as recorded. */
export const reviewAnswer = z.object({ review }).meta({ id: 'ReviewAnswer' });

/** A stored finding as the API presents it. */
export const finding = findingInput.extend({
  studyInstanceUid: z.string(),
  sopInstanceUid: z.string(),
  aiAssisted: z.string(),
  aiAssistedZh: z.string(),
  /** The label's Chinese name from the model card, added when presented; absent when the card has none. */
  displayZh: z.string().optional(),
  createdAt: z.string(),
  /** The latest decision on this finding; earlier ones stay in `reviews` and the audit trail. */
  review: review.nullable(),
  /** Every decision on this finding, oldest first (study detail only). */
  reviews: z.array(review).optional(),
}).meta({ id: 'Finding' });

export type ApplicabilityNote = z.infer<typeof applicabilityNote>;
export type Applicability = z.infer<typeof applicability>;
export type ModelProvenance = z.infer<typeof modelProvenance>;
export type InputStats = z.infer<typeof inputStats>;
export type Heatmap = z.infer<typeof heatmap>;
export type FindingInput = z.infer<typeof findingInput>;
export type Decision = z.infer<typeof decision>;
export type Review = z.infer<typeof review>;
export type Finding = z.infer<typeof finding>;
