import { Hono } from 'hono';
import { REVIEW_REASONS, reviewRequest } from '../../contract/reading.ts';
import type { ApiDeps } from '../deps.ts';
import { parseBody } from '../errors.ts';

/**
 * `POST /v1/findings/{id}/review`: a reader's decision on a finding. A second decision on
 * the same finding amends the first (`amends`); both stay, each with its audit record.
 */
export function reviewRoutes(deps: ApiDeps) {
  const app = new Hono();
  app.get('/v1/review-reasons', (c) => c.json({ items: REVIEW_REASONS }));
  app.post('/v1/findings/:findingId/review', async (c) => {
    const body = parseBody(reviewRequest, await c.req.json().catch(() => undefined));
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
