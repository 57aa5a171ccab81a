import { Hono } from 'hono';
import { inputJsonSchema } from '../../inference/features.ts';
import type { LoadedModel } from '../../inference/registry.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';

/** What a user of a model needs to know before trusting it: the card's facts, and for calculators the input schema. */
function describeModel(model: LoadedModel) {
  const { card } = model;
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
    // A reader weighs a probability by how well calibrated it is: method and ECE, as the card states them.
    ...('calibration' in card && card.calibration ? { calibration: card.calibration } : {}),
    ...(card.task === 'risk' || card.task === 'score'
      ? { bands: card.bands, population: card.population, outcome: card.outcome, inputSchema: inputJsonSchema(card.features) }
      : {}),
  };
}

export function modelRoutes(deps: ApiDeps) {
  const app = new Hono();
  app.get('/v1/models', (c) => c.json({ items: deps.registry.models.map(describeModel) }));
  app.get('/v1/models/:modelId', (c) => {
    const model = deps.registry.latest(c.req.param('modelId'));
    if (!model) throw new ApiError(404, 'MODEL_NOT_FOUND', `no model ${c.req.param('modelId')}; GET /v1/models lists them`);
    return c.json(describeModel(model));
  });
  return app;
}
