import { Hono } from 'hono';
import { z } from 'zod';
import { modelDescription, modelList, type ModelDescription } from '../../contract/models.ts';
import { inputJsonSchema } from '../../inference/features.ts';
import type { LoadedModel } from '../../inference/registry.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { mount } from '../route.ts';
import { ACCESS } from '../access.ts';

/** What a user of a model needs to know before trusting it: the card's facts, and for calculators the input schema. */
function describeModel(model: LoadedModel): ModelDescription {
  const { card } = model;
  const { calibration } = card as { calibration?: Record<string, unknown> };
  return {
    id: card.id,
    version: card.version,
    task: card.task,
    title: card.title,
    titleZh: card.titleZh,
    sha256: model.sha256,
    intendedUse: card.intendedUse,
    limitations: card.limitations,
    metrics: card.metrics,
    aiAssisted: card.aiAssisted,
    // A model team tells a shadow or canary version from the clinical one by its card, not by its output.
    ...(card.task === 'read-assist' ? { deployment: card.deployment, canary: card.canary, deploymentNote: card.deploymentNote } : {}),
    // A reader weighs a probability by how well calibrated it is: method and ECE, as the card states them.
    ...(calibration ? { calibration } : {}),
    ...(card.task === 'risk' || card.task === 'score'
      ? { bands: card.bands, population: card.population, outcome: card.outcome, inputSchema: inputJsonSchema(card.features) }
      : {}),
  };
}

const modelQuery = z.object({
  version: z.string().max(64).optional().meta({ description: 'A loaded version (as a finding\'s model provenance names it).' }),
});

export function modelRoutes(deps: ApiDeps) {
  const app = new Hono();
  mount(app, {
    method: 'get', path: '/v1/models', operationId: 'listModels', access: ACCESS.anyone, tag: 'models',
    summary: 'Every loaded model with its card: intended use, limitations, metrics with intervals',
    responses: { 200: { description: 'The models.', json: modelList } },
  }, (c) => c.json({ items: deps.registry.models.map(describeModel) }));
  mount(app, {
    method: 'get', path: '/v1/models/{modelId}', operationId: 'getModel', access: ACCESS.anyone, tag: 'models',
    summary: 'One model\'s card: the version asked for, else the version clinicians are shown (the newest clinical or canary one; a newer shadow version is not it); for a calculator, the JSON Schema of its inputs',
    query: modelQuery,
    responses: { 200: { description: 'The model.', json: modelDescription } },
    errors: { 404: 'MODEL_NOT_FOUND: no such model, or no such version of it loaded.' },
  }, (c, { params, query }) => {
    const model = query.version
      ? deps.registry.models.find((m) => m.card.id === params.modelId && m.card.version === query.version)
      : deps.registry.shown(params.modelId);
    if (!model) throw new ApiError(404, 'MODEL_NOT_FOUND', `no model ${params.modelId}${query.version ? ` version ${query.version}` : ''}; GET /v1/models lists them`);
    return c.json(describeModel(model));
  });
  return app;
}
