import type { Prioritise } from '../store/types.ts';
import type { TriageModel } from './registry.ts';
import { triage, type TriageInput } from './triage-policy/evaluate.ts';

/** What the triage route stores as a study's bedside assessment: the policy's inputs besides findings. */
export type ClinicalAssessment = Omit<TriageInput, 'findings'>;

/** How the AI pipeline's state reads in the "why", in both languages. */
const PIPELINE = {
  failed: (code: string) => ({ en: `AI could not read an image (${code}): needs a human read`, zh: `AI 无法读取图像（${code}）：需人工阅片` }),
  queued: { en: 'awaiting AI read', zh: '等待 AI 阅片' },
  noModel: { en: 'no AI model applies to this study', zh: '没有适用于本检查的 AI 模型' },
};

/**
 * Study priority, level and "why" (English and Chinese) from the triage policy: the
 * study's AI findings fused with its latest bedside assessment. The AI pipeline's own
 * state is added to the "why" (a study still being read, one the AI could not read and a
 * human must, one no model applies to), without changing the clinical priority.
 * `nameZh` gives a finding's Chinese name (see label-names.ts) for the Chinese text.
 */
export function createStudyPrioritiser(policy: TriageModel, nameZh: (model: { id: string; version?: string }, label: string) => string | undefined): Prioritise {
  return ({ instances, findings, clinical }) => {
    const result = triage(policy.card, {
      ...(clinical as ClinicalAssessment | undefined),
      findings: findings.map((f) => ({ ...f, modelId: f.model.id, displayZh: nameZh(f.model, f.label) })),
    });
    const failed = instances.find((i) => i.status === 'failed');
    const pipeline = failed
      ? PIPELINE.failed(failed.errorCode ?? 'error')
      : instances.some((i) => i.status === 'queued') ? PIPELINE.queued
        // Every read-assist model answers every label, so "done" without findings means no model applied.
        : findings.length === 0 && instances.length > 0 ? PIPELINE.noModel : undefined;
    return {
      priority: result.priority,
      why: [pipeline?.en, result.why].filter(Boolean).join(' · '),
      whyZh: [pipeline?.zh, result.whyZh].filter(Boolean).join(' · '),
      detail: { ...result, policy: { id: policy.card.id, version: policy.card.version, sha256: policy.sha256 } },
    };
  };
}
