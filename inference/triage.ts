import type { ScoreNotApplicable } from '../contract/calculations.ts';
import type { ApplicabilityNote } from '../contract/findings.ts';
import type { Prioritise } from '../contract/studies.ts';
import { labelNamesZh } from './label-names.ts';
import type { LoadedModel, ModelRegistry } from './registry.ts';
import { triage } from './triage-policy/evaluate.ts';
import { readAssessment, type ClinicalAssessment } from './triage-policy/fact-values.ts';
import { factCatalogue } from './triage-policy/facts.ts';
import { checkPolicy } from './triage-policy/policy.ts';

/** What the triage route stores as a study's bedside assessment: the triage facts of its scores and risks. */
export type { ClinicalAssessment } from './triage-policy/fact-values.ts';

/**
 * An assessment with the scores asked for whose card declined the patient (NEWS2 under 16), by
 * model id with the card's reason: what the policy reads (a reason saying so, first) and what a
 * study stores and its `study.assessed` audit record keeps, so both paths say it alike.
 */
export function withDeclinedScores(clinical: ClinicalAssessment, notApplicable: Record<string, ScoreNotApplicable>): ClinicalAssessment {
  const declined = Object.entries(notApplicable).map(([modelId, answer]) => [modelId, answer.applicability.reason] as const);
  return declined.length ? { ...clinical, notApplicable: Object.fromEntries(declined) } : clinical;
}

/** How the AI pipeline's state reads in the "why", in both languages. */
const PIPELINE = {
  failed: (code: string) => ({ en: `AI could not read an image (${code}): needs a human read`, zh: `AI 无法读取图像（${code}）：需人工阅片` }),
  queued: { en: 'awaiting AI read', zh: '等待 AI 阅片' },
  noModel: { en: 'no AI model applies to this study', zh: '没有适用于本检查的 AI 模型' },
  notApplicable: (model: string, reason: ApplicabilityNote) => ({ en: `AI not applicable (${model}): ${reason.text}`, zh: `AI 不适用（${model}）：${reason.textZh}` }),
  advisory: (models: string) => ({ en: `AI finding shown, not used for priority (${models})`, zh: `AI 发现仅供参考，未用于排序（${models}）` }),
};

/**
 * Study priority, level and "why" (English and Chinese) from the triage policy: the
 * study's AI findings fused with its latest bedside assessment. Only applicable findings
 * of models whose card lets them drive priority reach the policy: a "not applicable"
 * finding, or one from an evaluate-only or advisory model, never moves a study. The AI
 * pipeline's own state is added to the "why" (a study still being read, one the AI could
 * not read and a human must, one no model applies to, one where every model declined and
 * why, one whose only answers come from models that may not drive priority), without
 * changing the clinical priority.
 *
 * The stored assessment is read in either form (`readAssessment`): today's triage facts with the
 * scores whose card declined the patient (each a reason, first, as `POST /v1/triage` without a
 * study gives it), or the answers by model id that studies assessed before triage facts hold,
 * converted with the cards.
 */
export function createStudyPrioritiser(registry: Pick<ModelRegistry, 'triagePolicy' | 'models'>): Prioritise {
  const policy = registry.triagePolicy;
  const facts = factCatalogue(registry.models);
  checkPolicy(policy.card, facts);
  const nameZh = labelNamesZh(registry.models);
  const drives = priorityDrivers(registry.models);
  return ({ instances, findings, clinical }) => {
    const applicable = findings.filter((f) => f.probability !== null && f.applicability?.applicable !== false);
    const driving = applicable.filter((f) => drives(f.model));
    const result = triage(policy.card, {
      ...readAssessment(clinical, facts),
      findings: driving.map((f) => ({ ...f, probability: f.probability!, modelId: f.model.id, displayZh: nameZh(f.model, f.label) })),
    }, facts);
    const advisory = driving.length === 0 ? [...new Set(applicable.map((f) => f.model.id))].join(', ') : '';
    const declined = applicable.length === 0 ? findings.find((f) => f.applicability?.reason) : undefined;
    const pipeline = instances.failed
      ? PIPELINE.failed(instances.failed.errorCode ?? 'error')
      : instances.queued ? PIPELINE.queued
        // Every read-assist model answers every label, so "done" without findings means no model applied.
        : findings.length === 0 && instances.any ? PIPELINE.noModel
          : declined ? PIPELINE.notApplicable(declined.model.id, declined.applicability!.reason!)
            : advisory ? PIPELINE.advisory(advisory) : undefined;
    return {
      priority: result.priority,
      why: [pipeline?.en, result.why].filter(Boolean).join(' · '),
      whyZh: [pipeline?.zh, result.whyZh].filter(Boolean).join(' · '),
      detail: { ...result, policy: { id: policy.card.id, version: policy.card.version, sha256: policy.sha256 } },
    };
  };
}

/**
 * Whether a finding's model may move priority: its card says `drivesPriority` and it is
 * clinical or canary (triage only ever sees findings of clinical runs: a canary's on the
 * studies inside its share; shadow findings never reach it, store/clinical-findings.ts). A finding from a model version no longer loaded falls back to the loaded card of
 * the same id; from an unknown model, it drives nothing.
 */
function priorityDrivers(models: readonly LoadedModel[]): (model: { id: string; version: string }) => boolean {
  const drives = new Map<string, boolean>();
  for (const m of models) {
    if (m.card.task !== 'read-assist') continue;
    const yes = m.card.drivesPriority && (m.card.deployment === 'clinical' || m.card.deployment === 'canary');
    drives.set(`${m.card.id}@${m.card.version}`, yes);
    if (!drives.has(m.card.id)) drives.set(m.card.id, yes);
  }
  return (model) => drives.get(`${model.id}@${model.version}`) ?? drives.get(model.id) ?? false;
}
