import { Hono } from 'hono';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { parseBody } from '../errors.ts';

/** Coded override reasons: coded so agreement statistics can count them. */
export const REVIEW_REASONS = [
  { code: 'false-positive', display: 'False positive: the finding is not present', displayZh: '假阳性：该发现并不存在' },
  { code: 'false-negative', display: 'False negative: a finding was missed', displayZh: '假阴性：漏掉了一个发现' },
  { code: 'wrong-location', display: 'Wrong location: the heatmap points elsewhere', displayZh: '位置错误：热图指向别处' },
  { code: 'poor-image-quality', display: 'Poor image quality: not assessable', displayZh: '图像质量差：无法评估' },
  { code: 'clinical-context', display: 'Clinical context changes the reading', displayZh: '临床背景改变了判读' },
  { code: 'other', display: 'Other (explain in the comment)', displayZh: '其他（请在备注中说明）' },
] as const;

const reasonCodes = REVIEW_REASONS.map((r) => r.code) as [string, ...string[]];

const reviewBody = z.object({
  decision: z.enum(['accept', 'override']),
  reasonCode: z.enum(reasonCodes).optional(),
  comment: z.string().trim().max(2000).optional(),
  reviewer: z.string().trim().min(1, 'say who decides').max(100),
}).strict().superRefine((body, ctx) => {
  if (body.decision === 'override' && !body.reasonCode) {
    ctx.addIssue({ code: 'custom', path: ['reasonCode'], message: `an override needs a reason code: one of ${reasonCodes.join(', ')}` });
  }
  if (body.reasonCode === 'other' && !body.comment) {
    ctx.addIssue({ code: 'custom', path: ['comment'], message: 'reason "other" needs a comment' });
  }
});

/**
 * `POST /v1/findings/{id}/review`: a reader's decision on a finding. A second decision on
 * the same finding amends the first (`amends`); both stay, each with its audit record.
 */
export function reviewRoutes(deps: ApiDeps) {
  const app = new Hono();
  app.get('/v1/review-reasons', (c) => c.json({ items: REVIEW_REASONS }));
  app.post('/v1/findings/:findingId/review', async (c) => {
    const body = parseBody(reviewBody, await c.req.json().catch(() => undefined));
    const review = await deps.store.recordReview(c.req.param('findingId'), {
      decision: body.decision,
      reasonCode: body.reasonCode,
      comment: body.comment || undefined,
      reviewer: body.reviewer,
    });
    return c.json({ review }, 201);
  });
  return app;
}
