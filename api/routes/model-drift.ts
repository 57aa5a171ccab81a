import { Hono } from 'hono';
import { modelDrift, modelDriftAcknowledgeRequest, modelDriftAlertParams, modelDriftParams, modelDriftRunSummary, driftAlert } from '../../contract/model-drift.ts';
import { createModelDrift } from '../../pipeline/model-drift.ts';
import { ACCESS } from '../access.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { mount } from '../route.ts';

/**
 * Drift monitoring per model (pipeline/model-drift.ts): each version's windows of inferences
 * against its reference (PSI per quantity, output rates, acceptance), the alerts raised, their
 * acknowledgement, and the evaluation on an admin's request (it also runs hourly). Aggregates
 * over all sites with no patient identifier: for model teams and admins.
 */
export function modelDriftRoutes(deps: ApiDeps) {
  const app = new Hono();
  const drift = createModelDrift({ store: deps.store });
  const tag = 'model teams';

  mount(app, {
    method: 'get', path: '/v1/models/{modelId}/drift', operationId: 'getModelDrift', access: ACCESS.modelDrift, tag,
    summary: 'A model\'s drift: PSI per monitored quantity and window against each version\'s reference, output rates, acceptance, alerts',
    description: 'Reference: the first 500 inferences of a version; windows: each following 200. PSI on the reference\'s deciles; over 0.25 a complete window raises an alert.',
    params: modelDriftParams,
    responses: { 200: { description: 'Series per version, and the alerts (newest first).', json: modelDrift } },
    errors: { 404: 'No model with this id is loaded.' },
  }, async (c, { params }) => {
    if (!deps.registry.models.some((m) => m.card.id === params.modelId)) throw new ApiError(404, 'NOT_FOUND', `no model ${params.modelId} is loaded`);
    return c.json(await drift.ofModel(params.modelId));
  });

  mount(app, {
    method: 'post', path: '/v1/model-drift-alerts/{id}/acknowledge', operationId: 'acknowledgeModelDriftAlert', access: ACCESS.modelDrift, tag,
    summary: 'Acknowledge a drift alert with a note (audited with the signed-in user)',
    description: 'An alert already acknowledged is answered as it stands: the first acknowledgement is kept.',
    params: modelDriftAlertParams,
    body: modelDriftAcknowledgeRequest,
    responses: { 200: { description: 'The alert, acknowledged.', json: driftAlert } },
    errors: { 404: 'No such alert.', 422: 'VALIDATION_FAILED: no note, or a note over 2000 characters.' },
  }, async (c, { params, body, auth }) => c.json((await deps.store.acknowledgeDriftAlert(params.id, body.note, auth.user.username)).alert));

  mount(app, {
    method: 'post', path: '/v1/model-drift/run', operationId: 'runModelDrift', access: ACCESS.admin, tag,
    summary: 'Evaluate drift for every model now (the hourly schedule does the same)',
    description: 'Idempotent: an alert already raised for the same model, version, quantity and window is not raised again.',
    responses: { 200: { description: 'What the evaluation did.', json: modelDriftRunSummary } },
  }, async (c, { auth }) => c.json(await drift.run(auth.user.username)));
  return app;
}
