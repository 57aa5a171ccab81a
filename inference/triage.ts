import type { Prioritise } from '../store/types.ts';

/**
 * Study priority (0–100) and its one-line "why", from what the AI has said so far.
 * Deliberately simple until the triage-policy model lands (vitals, scores, risk):
 * - a positive finding ranks by its probability, above everything negative;
 * - a study the AI could not read needs a human read, so it ranks above negatives;
 * - a study still waiting for AI sits in the middle, so it is never buried;
 * - negatives rank by probability, below the rest.
 */
export const prioritiseStudy: Prioritise = ({ instances, findings }) => {
  const positives = findings.filter((f) => f.positive).sort((a, b) => b.probability - a.probability);
  if (positives.length > 0) {
    const top = positives[0];
    return {
      priority: round(60 + 40 * top.probability),
      why: `${top.display} p=${top.probability.toFixed(2)} ≥ ${top.operatingPoint.threshold.toFixed(2)} (${top.operatingPoint.name})` +
        (positives.length > 1 ? ` · +${positives.length - 1} more` : ''),
    };
  }
  const failed = instances.find((i) => i.status === 'failed');
  if (failed) return { priority: 55, why: `AI could not read an image (${failed.errorCode ?? 'error'}): needs a human read` };
  if (instances.some((i) => i.status === 'queued')) return { priority: 50, why: 'awaiting AI read' };
  if (findings.length === 0) return { priority: 10, why: 'no AI model applies to this study' };
  const top = [...findings].sort((a, b) => b.probability - a.probability)[0];
  return {
    priority: round(40 * top.probability),
    why: `no AI finding above its operating point (${top.display} p=${top.probability.toFixed(2)} < ${top.operatingPoint.threshold.toFixed(2)})`,
  };
};

const round = (value: number) => Math.round(value * 10) / 10;
