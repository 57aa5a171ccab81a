import { Hono } from 'hono';
import { calculationAnswer, type CalculationAnswer } from '../../contract/calculations.ts';
import { InputValidationError } from '../../inference/features.ts';
import { evaluateRisk } from '../../inference/risk.ts';
import { isRiskModel, isScoreModel } from '../../inference/registry.ts';
import { evaluateScoreModel, isNotApplicable } from '../../inference/score.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { mount } from '../route.ts';
import { ACCESS } from '../access.ts';

/**
 * `POST /v1/risk/{modelId}`: a calibrated risk (risk model) or a published score for one patient,
 * computed in-process, with its band, the reasons and the validated-range warnings.
 * Every answer is audited (who asked, which model, what came out).
 */
export function riskRoutes(deps: ApiDeps) {
  const app = new Hono();
  mount(app, {
    method: 'post', path: '/v1/risk/{modelId}', operationId: 'calculateRisk', access: ACCESS.calculate, tag: 'calculations',
    summary: 'A calibrated risk (risk model) or a published score for one patient',
    description: 'Computed in-process, with its band, the reasons and validated-range warnings (an input outside what the model was validated on is answered and flagged, never hidden). A score whose card declares a population gate answers "not applicable" with the reason for a patient outside it (NEWS2 under 16), with no score. Audited.',
    rawBody: { description: 'The model\'s inputs by name, in any accepted unit: `GET /v1/models/{modelId}` gives their JSON Schema as `inputSchema`.', mediaTypes: ['application/json'], schema: { type: 'object' } },
    responses: { 200: { description: 'A risk answer (risk model), a score answer (published score), or a score\'s "not applicable" with its reason.', json: calculationAnswer } },
    errors: { 404: 'MODEL_NOT_FOUND', 422: 'VALIDATION_FAILED: each bad input named, with the unit or range expected.', 503: 'AUDIT_UNAVAILABLE: the answer\'s audit record could not be written in time (it is retried); no answer is given without it.' },
  }, async (c, { params, auth }) => {
    const model = deps.registry.latest(params.modelId);
    if (!model || !(isRiskModel(model) || isScoreModel(model))) {
      throw new ApiError(404, 'MODEL_NOT_FOUND', `no risk model or score ${params.modelId}; GET /v1/models lists them`);
    }
    const body = await c.req.json().catch(() => {
      throw new InputValidationError([{ field: '(body)', message: 'the body is not valid JSON' }]);
    });
    const answer = isRiskModel(model) ? await evaluateRisk(model, body) : evaluateScoreModel(model, body);
    await deps.store.recordCalculation(auth.user.username, {
      kind: model.card.task,
      model: answer.model,
      inputs: answer.inputs,
      result: 'risk' in answer ? { risk: answer.risk, band: answer.band.label, warnings: answer.warnings.map((w) => w.code) }
        : isNotApplicable(answer) ? { notApplicable: answer.applicability.reason.code }
        : { score: answer.score, band: answer.band.label, warnings: answer.warnings.map((w) => w.code), ...(answer.applicability?.caveats.length ? { caveats: answer.applicability.caveats.map((c) => c.code) } : {}) },
    });
    return c.json(answer satisfies CalculationAnswer);
  });
  return app;
}
