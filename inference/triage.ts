import type { Prioritise } from '../store/types.ts';
import type { TriageModel } from './registry.ts';
import { triage, type TriageInput } from './triage-policy/evaluate.ts';

/** What the triage route stores as a study's bedside assessment: the policy's inputs besides findings. */
export type ClinicalAssessment = Omit<TriageInput, 'findings'>;

/**
 * Study priority, level and "why" from the triage policy: the study's AI findings
 * fused with its latest bedside assessment. The AI pipeline's own state is added to
 * the "why" (a study still being read, one the AI could not read and a human must, one
 * no model applies to), without changing the clinical priority.
 */
export function createStudyPrioritiser(policy: TriageModel): Prioritise {
  return ({ instances, findings, clinical }) => {
    const result = triage(policy.card, {
      ...(clinical as ClinicalAssessment | undefined),
      findings: findings.map((f) => ({ ...f, modelId: f.model.id })),
    });
    const failed = instances.find((i) => i.status === 'failed');
    const pipeline = failed
      ? `AI could not read an image (${failed.errorCode ?? 'error'}): needs a human read`
      : instances.some((i) => i.status === 'queued') ? 'awaiting AI read'
        // Every read-assist model answers every label, so "done" without findings means no model applied.
        : findings.length === 0 && instances.length > 0 ? 'no AI model applies to this study' : undefined;
    return {
      priority: result.priority,
      why: [pipeline, result.why].filter(Boolean).join(' · '),
      detail: { ...result, policy: { id: policy.card.id, version: policy.card.version, sha256: policy.sha256 } },
    };
  };
}
