import { Hono } from 'hono';
import { InputValidationError } from '../../inference/features.ts';
import { evaluateRisk } from '../../inference/risk.ts';
import { isRiskModel, isScoreModel } from '../../inference/registry.ts';
import { evaluateScoreModel } from '../../inference/score.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { requestActor } from '../actor.ts';

/**
 * `POST /v1/risk/{modelId}`: a calibrated risk (risk model) or a published score for one patient,
 * computed in-process, with its band, the reasons and the validated-range warnings.
 * Every answer is audited (who asked, which model, what came out).
 */
export function riskRoutes(deps: ApiDeps) {
  const app = new Hono();
  app.post('/v1/risk/:modelId', async (c) => {
    const model = deps.registry.latest(c.req.param('modelId'));
    if (!model || !(isRiskModel(model) || isScoreModel(model))) {
      throw new ApiError(404, 'MODEL_NOT_FOUND', `no risk model or score ${c.req.param('modelId')}; GET /v1/models lists them`);
    }
    const body = await c.req.json().catch(() => {
      throw new InputValidationError([{ field: '(body)', message: 'the body is not valid JSON' }]);
    });
    const answer = isRiskModel(model) ? await evaluateRisk(model, body) : evaluateScoreModel(model, body);
    deps.store.recordCalculation(requestActor(c), {
      kind: model.card.task,
      model: answer.model,
      inputs: answer.inputs,
      result: { ...('risk' in answer ? { risk: answer.risk } : { score: answer.score }), band: answer.band.label, warnings: answer.warnings.map((w) => w.code) },
    });
    return c.json(answer);
  });
  return app;
}
