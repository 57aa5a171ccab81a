import { Hono } from 'hono';
import { reviewAnswer } from '../../contract/findings.ts';
import { REVIEW_REASONS, reviewRequest } from '../../contract/reading.ts';
import type { ApiDeps } from '../deps.ts';
import { mount } from '../route.ts';
import { mountCodedTerms } from './coded-terms.ts';
import { ACCESS } from '../access.ts';
import { logger } from '../../log.ts';

/**
 * `POST /v1/findings/{id}/review`: a reader's decision on a finding. A second decision on
 * the same finding amends the first (`amends`); both stay, each with its audit record.
 */
export function reviewRoutes(deps: ApiDeps) {
  const app = new Hono();
  mountCodedTerms(app, { path: '/v1/review-reasons', operationId: 'listReviewReasons', summary: 'The coded reasons an override must give' }, REVIEW_REASONS);
  mount(app, {
    method: 'post', path: '/v1/findings/{findingId}/review', operationId: 'reviewFinding', access: ACCESS.reading, tag: 'reading',
    summary: 'Accept or override an AI finding',
    description: 'A later decision on the same finding amends the earlier one (`amends`); both stay, each audited.',
    body: reviewRequest,
    responses: { 201: { description: 'The decision as recorded.', json: reviewAnswer } },
    errors: { 404: 'No such finding at the user\'s sites.', 409: 'FINDING_NOT_APPLICABLE: the model made no claim on this image, so there is nothing to decide.' },
  }, async (c, { params, body, auth }) => {
    const review = await deps.store.recordReview(params.findingId, {
      decision: body.decision,
      reasonCode: body.reasonCode,
      comment: body.comment || undefined,
      reviewer: auth.user.username,
    }, auth.scope);
    // The decision is committed; its DICOM SR is written before the answer (or queued when it cannot be:
    // pipeline/ai-results-sr.ts). The decision stands either way.
    await deps.aiResultsSr?.afterReview(review.id).catch((error) => logger.error({ err: error, review: review.id }, 'the review\'s DICOM SR was neither written nor queued'));
    return c.json({ review }, 201);
  });
  return app;
}
