import { Hono } from 'hono';
import { triageAnswer, triageRequest, type RiskAnswer, type ScoreAnswer, type TriageAnswer } from '../../contract/calculations.ts';
import { studyTriage } from '../../contract/studies.ts';
import { InputValidationError } from '../../inference/features.ts';
import { isRiskModel, isScoreModel } from '../../inference/registry.ts';
import { evaluateRisk, modelReference } from '../../inference/risk.ts';
import { evaluateScoreModel } from '../../inference/score.ts';
import type { ClinicalAssessment } from '../../inference/triage.ts';
import { triage } from '../../inference/triage-policy/evaluate.ts';
import { answerFacts } from '../../inference/triage-policy/fact-values.ts';
import { factCatalogue } from '../../inference/triage-policy/facts.ts';
import { REQUEST_REDIS_WAIT_MS } from '../../queue/enqueue.ts';
import type { ApiDeps } from '../deps.ts';
import { mount } from '../route.ts';
import { ACCESS } from '../access.ts';

/**
 * `POST /v1/triage`: the scores and risks for one patient, fused by the triage policy
 * into a priority, a level on the Chinese four-level scale, the NEWS2 response band and
 * the reasons. Every triage fact that an evaluated card declares reaches the policy; no
 * model is named here. With `studyInstanceUid` the assessment is stored on the study, which
 * re-orders the worklist and the AI queue. Every answer is audited.
 */
export function triageRoutes(deps: ApiDeps) {
  const app = new Hono();
  mount(app, {
    method: 'post', path: '/v1/triage', operationId: 'triage', access: ACCESS.calculate, tag: 'calculations',
    summary: 'Fuse a patient\'s scores, risks and imaging findings into a priority, a triage level and reasons',
    description: 'With `studyInstanceUid` the assessment is stored on the study, which re-orders the worklist and the AI queue. Audited.',
    body: triageRequest,
    responses: { 200: { description: 'The triage, with each score and risk computed.', json: triageAnswer } },
    errors: { 404: 'No such study.', 422: 'VALIDATION_FAILED: an unknown model or a bad input, each named.', 503: 'AUDIT_UNAVAILABLE: the answer\'s audit record could not be written in time (it is retried).' },
  }, async (c, { body, auth }) => {
    const issues: { field: string; message: string }[] = [];
    const scores: Record<string, ScoreAnswer> = {};
    const risks: Record<string, RiskAnswer> = {};
    for (const [group, inputs] of [['scores', body.scores], ['risks', body.risks]] as const) {
      for (const [modelId, input] of Object.entries(inputs)) {
        const model = deps.registry.latest(modelId);
        const wanted = group === 'scores' ? model && isScoreModel(model) : model && isRiskModel(model);
        if (!model || !wanted) {
          issues.push({ field: `${group}.${modelId}`, message: `no ${group === 'scores' ? 'score' : 'risk'} model ${modelId}; GET /v1/models lists them` });
          continue;
        }
        try {
          if (isScoreModel(model)) scores[modelId] = evaluateScoreModel(model, input);
          else if (isRiskModel(model)) risks[modelId] = await evaluateRisk(model, input);
        } catch (error) {
          if (!(error instanceof InputValidationError)) throw error;
          issues.push(...error.issues.map((i) => ({ field: `${group}.${modelId}.${i.field}`, message: i.message })));
        }
      }
    }
    if (issues.length > 0) throw new InputValidationError(issues);

    const facts = factCatalogue(deps.registry.models);
    const clinical: ClinicalAssessment = {
      facts: Object.assign({}, ...[...Object.values(scores), ...Object.values(risks)].map((answer) => answerFacts(facts, answer.model.id, { ...answer }))),
    };
    const policy = deps.registry.triagePolicy;
    const actor = auth.user.username;

    let result: TriageAnswer['triage'];
    if (body.studyInstanceUid) {
      const assessed = await deps.store.recordClinical(body.studyInstanceUid, { ...clinical }, actor, auth.user.sites);
      result = studyTriage.parse(assessed.detail);
      // The assessment is committed; moving the study's waiting jobs up must not hold the answer while Redis is away.
      const waiting = await deps.store.queuedInstances(body.studyInstanceUid);
      await deps.readAssist.within(Promise.all(waiting.map((instance) =>
        deps.readAssist.reprioritise(instance.sopInstanceUid, deps.registry.forModality(instance.modality).map((m) => m.key), assessed.priority))), REQUEST_REDIS_WAIT_MS);
    } else {
      result = { ...triage(policy.card, { ...clinical, findings: body.findings }, facts), policy: modelReference(policy) };
      await deps.store.recordCalculation(actor, { kind: 'triage', model: modelReference(policy), inputs: { clinical, findings: body.findings }, result });
    }
    return c.json({
      triage: result,
      scores,
      risks,
      ...(body.studyInstanceUid ? { studyInstanceUid: body.studyInstanceUid } : {}),
      aiAssisted: policy.card.aiAssisted,
    } satisfies TriageAnswer);
  });
  return app;
}

