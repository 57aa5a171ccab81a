import { Hono } from 'hono';
import { triageAnswer, triageRequest, type TriageAnswer } from '../../contract/calculations.ts';
import { studyTriage } from '../../contract/studies.ts';
import { assess, refusalError, triageOf } from '../../inference/assess.ts';
import { modelReference } from '../../inference/risk.ts';
import { withDeclinedScores } from '../../inference/triage.ts';
import type { ApiDeps } from '../deps.ts';
import { mount } from '../route.ts';
import { recordStudyAssessment } from '../study-assessment.ts';
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
    responses: { 200: { description: 'The triage, with each score and risk computed; a score whose card\'s population does not cover the patient (NEWS2 under 16) is in `notApplicable` with its reason: it gives no fact, and the triage says so in its first reason and its `why` and holds the level at least at the policy\'s `notCalculated` level (III).', json: triageAnswer } },
    errors: { 404: 'No such study.', 422: 'VALIDATION_FAILED: an unknown model or a bad input, each named.', 503: 'AUDIT_UNAVAILABLE: the answer\'s audit record could not be written in time (it is retried).' },
  }, async (c, { body, auth }) => {
    const { scores, notApplicable, risks, refused, ...assessed } = await assess(deps.registry, body);
    if (refused.length > 0) throw refusalError(refused);
    const clinical = withDeclinedScores(assessed.clinical, notApplicable);
    const policy = deps.registry.triagePolicy;
    const actor = auth.user.username;

    let result: TriageAnswer['triage'];
    if (body.studyInstanceUid) {
      result = studyTriage.parse((await recordStudyAssessment(deps, body.studyInstanceUid, clinical, actor, auth.scope)).detail);
    } else {
      result = triageOf(deps.registry, clinical, body.findings);
      await deps.store.recordCalculation(actor, { kind: 'triage', model: modelReference(policy), inputs: { clinical, findings: body.findings }, result });
    }
    return c.json({
      triage: result,
      scores,
      ...(Object.keys(notApplicable).length ? { notApplicable } : {}),
      risks,
      ...(body.studyInstanceUid ? { studyInstanceUid: body.studyInstanceUid } : {}),
      aiAssisted: policy.card.aiAssisted,
    } satisfies TriageAnswer);
  });
  return app;
}

