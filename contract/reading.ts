import { z } from 'zod';
import { decision } from './findings.ts';

/**
 * What a reader sends and gets back when deciding on findings and adding the ones the AI
 * missed: the request bodies the routes parse, the coded vocabularies they accept, and the
 * reader finding as presented.
 */

/** A coded term with its English and Chinese names. */
export const codedTerm = z.object({ code: z.string(), display: z.string(), displayZh: z.string() });

/** `GET /v1/review-reasons`, `GET /v1/reader-finding-labels`. */
export const codedTerms = z.object({ items: z.array(codedTerm) }).meta({ id: 'CodedTerms' });

/** Coded override reasons: coded so agreement statistics can count them (`GET /v1/review-reasons`). */
export const REVIEW_REASONS = [
  { code: 'false-positive', display: 'False positive: the finding is not present', displayZh: '假阳性：该发现并不存在' },
  { code: 'false-negative', display: 'False negative: a finding was missed', displayZh: '假阴性：漏掉了一个发现' },
  { code: 'wrong-location', display: 'Wrong location: the heatmap points elsewhere', displayZh: '位置错误：热图指向别处' },
  { code: 'poor-image-quality', display: 'Poor image quality: not assessable', displayZh: '图像质量差：无法评估' },
  { code: 'clinical-context', display: 'Clinical context changes the reading', displayZh: '临床背景改变了判读' },
  { code: 'other', display: 'Other (explain in the comment)', displayZh: '其他（请在备注中说明）' },
] as const satisfies readonly CodedTerm[];

/**
 * Coded labels for findings a reader adds that the AI missed: coded so that model teams
 * can count misses per label (`GET /v1/reader-finding-labels`). `other` needs a comment.
 */
export const READER_FINDING_LABELS = [
  { code: 'pneumonia', display: 'Pneumonia', displayZh: '肺炎' },
  { code: 'nodule', display: 'Nodule or mass', displayZh: '结节或肿块' },
  { code: 'effusion', display: 'Pleural effusion', displayZh: '胸腔积液' },
  { code: 'pneumothorax', display: 'Pneumothorax', displayZh: '气胸' },
  { code: 'cardiomegaly', display: 'Cardiomegaly', displayZh: '心影增大' },
  { code: 'fracture', display: 'Fracture', displayZh: '骨折' },
  { code: 'other', display: 'Other (describe in the comment)', displayZh: '其他（请在备注中说明）' },
] as const satisfies readonly CodedTerm[];

const reasonCodes = REVIEW_REASONS.map((r) => r.code) as [string, ...string[]];
const labelCodes = READER_FINDING_LABELS.map((l) => l.code) as [string, ...string[]];

/** `POST /v1/findings/{id}/review`. */
export const reviewRequest = z.object({
  decision,
  reasonCode: z.enum(reasonCodes).optional(),
  comment: z.string().trim().max(2000).optional(),
}).strict().superRefine((body, ctx) => {
  if (body.decision === 'override' && !body.reasonCode) {
    ctx.addIssue({ code: 'custom', path: ['reasonCode'], message: `an override needs a reason code: one of ${reasonCodes.join(', ')}` });
  }
  if (body.reasonCode === 'other' && !body.comment) {
    ctx.addIssue({ code: 'custom', path: ['comment'], message: 'reason "other" needs a comment' });
  }
});

/** A rectangle in image pixels (fractions allowed: a box drawn on a zoomed view); the store checks the far edges against the image's size. */
export const region = z.object({
  x: z.number().min(0),
  y: z.number().min(0),
  width: z.number().positive(),
  height: z.number().positive(),
}).strict();

/** `POST /v1/studies/{uid}/reader-findings`. */
export const readerFindingRequest = z.object({
  label: z.enum(labelCodes, { error: `one of ${labelCodes.join(', ')} (GET /v1/reader-finding-labels)` }),
  sopInstanceUid: z.string().min(1).max(64).optional(),
  region: region.optional(),
  comment: z.string().trim().max(2000).optional(),
}).strict().superRefine((body, ctx) => {
  if (body.region && !body.sopInstanceUid) ctx.addIssue({ code: 'custom', path: ['region'], message: 'a region needs the sopInstanceUid of the image it is on' });
  if (body.label === 'other' && !body.comment) ctx.addIssue({ code: 'custom', path: ['comment'], message: 'label "other" needs a comment' });
});

/** A stored reader finding, with its label's names, as every answer shows it. */
export const readerFinding = z.object({
  id: z.string(),
  studyInstanceUid: z.string(),
  label: z.string(),
  display: z.string(),
  displayZh: z.string(),
  sopInstanceUid: z.string().optional(),
  region: region.optional(),
  comment: z.string().optional(),
  reviewer: z.string(),
  createdAt: z.string(),
}).meta({ id: 'ReaderFinding' });

/** `POST /v1/studies/{uid}/reader-findings` answers the finding as recorded. */
export const readerFindingAnswer = z.object({ readerFinding }).meta({ id: 'ReaderFindingAnswer' });

export type CodedTerm = z.infer<typeof codedTerm>;
export type ReviewRequest = z.input<typeof reviewRequest>;
export type Region = z.infer<typeof region>;
export type ReaderFindingRequest = z.input<typeof readerFindingRequest>;
export type ReaderFinding = z.infer<typeof readerFinding>;
