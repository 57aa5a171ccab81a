import { Hono } from 'hono';
import { z } from 'zod';
import { InputValidationError } from '../../inference/features.ts';
import { isRiskModel, isScoreModel } from '../../inference/registry.ts';
import { evaluateRisk, modelReference, type RiskAnswer } from '../../inference/risk.ts';
import { evaluateScoreModel, type ScoreAnswer } from '../../inference/score.ts';
import type { ClinicalAssessment } from '../../inference/triage.ts';
import { triage } from '../../inference/triage-policy/evaluate.ts';
import { requestActor } from '../actor.ts';
import type { ApiDeps } from '../deps.ts';
import { parseBody } from '../errors.ts';

/** Scores the triage policy reads as facts, by model id (`news2.score`, `qsofa.score`, `curb65.score`). */
const TRIAGE_SCORES = ['news2', 'qsofa', 'curb65'] as const;

const finding = z.object({
  label: z.string(),
  display: z.string(),
  probability: z.number().min(0).max(1),
  positive: z.boolean(),
  refer: z.boolean().optional(),
  modelId: z.string(),
}).strict();

const triageBody = z.object({
  /** Attach the assessment to a received study: it re-prioritises the worklist and the study's queued jobs. */
  studyInstanceUid: z.string().min(1).max(64).optional(),
  /** Score model id → its inputs, e.g. { "news2": { "respiratoryRate": 22, … } }. */
  scores: z.record(z.string(), z.unknown()).default({}),
  /** Risk model id → its inputs. */
  risks: z.record(z.string(), z.unknown()).default({}),
  /** Imaging findings from elsewhere, for a patient without a study here. */
  findings: z.array(finding).optional(),
}).strict().refine((b) => !(b.studyInstanceUid && b.findings), { message: 'give either studyInstanceUid (its findings are used) or findings, not both', path: ['findings'] });

/**
 * `POST /v1/triage`: the scores and risks for one patient, fused by the triage policy
 * into a priority, a level on the Chinese four-level scale, the NEWS2 response band and
 * the reasons. With `studyInstanceUid` the assessment is stored on the study, which
 * re-orders the worklist and the AI queue. Every answer is audited.
 */
export function triageRoutes(deps: ApiDeps) {
  const app = new Hono();
  app.post('/v1/triage', async (c) => {
    const body = parseBody(triageBody, await c.req.json().catch(() => undefined));
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

    const clinical: ClinicalAssessment = {
      ...Object.fromEntries(TRIAGE_SCORES.filter((id) => scores[id]).map((id) => [id, {
        score: scores[id].score,
        band: scores[id].band.label,
        ...(scores[id].redFlags ? { redFlags: scores[id].redFlags } : {}),
      }])),
      ...(Object.keys(risks).length ? { risks: Object.entries(risks).map(([modelId, r]) => ({ modelId, risk: r.risk, band: r.band.label })) } : {}),
    };
    const policy = deps.registry.triagePolicy;
    const actor = requestActor(c);

    let result: unknown;
    if (body.studyInstanceUid) {
      const assessed = await deps.store.recordClinical(body.studyInstanceUid, { ...clinical }, actor);
      result = assessed.detail;
      for (const instance of await deps.store.queuedInstances(body.studyInstanceUid)) {
        const modelKeys = deps.registry.forModality(instance.modality).map((m) => m.key);
        await deps.readAssist.reprioritise(instance.sopInstanceUid, modelKeys, assessed.priority);
      }
    } else {
      result = { ...triage(policy.card, { ...clinical, findings: body.findings }), policy: modelReference(policy) };
      deps.store.recordCalculation(actor, { kind: 'triage', model: modelReference(policy), inputs: { clinical, findings: body.findings }, result });
    }
    return c.json({
      triage: result,
      scores,
      risks,
      ...(body.studyInstanceUid ? { studyInstanceUid: body.studyInstanceUid } : {}),
      aiAssisted: policy.card.aiAssisted,
    });
  });
  return app;
}

