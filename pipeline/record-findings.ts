import type { FindingInput } from '../contract/findings.ts';
import type { RunDeployment } from '../queue/jobs.ts';
import type { Store } from '../store/store.ts';

/** One model run's answer on one instance: what a worker hands back as a findings result, or what ingest answers from the header alone. */
export interface RunFindings {
  sopInstanceUid: string;
  modelKey: string;
  deployment: RunDeployment;
  findings: FindingInput[];
}

export interface RecordFindingsDeps {
  store: Pick<Store, 'recordFindings' | 'recordShadowFindings'>;
  /** After a clinical (or canary) run's findings are committed: queues their DICOM SR (pipeline/ai-results-sr.ts afterFindings), resolving once Redis has it. */
  onFindings?: (sopInstanceUid: string, modelKey: string) => Promise<void>;
}

/**
 * Records one run's findings, audited as the model (`model:<id>@<version>`), wherever they were
 * made: by a worker (pipeline/results-consumer.ts) or at ingest, for a run whose card's population
 * the header alone rules out (pipeline/ingest.ts). Same store calls, so the same guarantees:
 * idempotent (finding ids derive from instance, model and label; audit records are keyed), consent
 * asked in the findings' transaction (a withheld patient's findings are dropped), the model leaves
 * the instance's pending list. A shadow run's are kept for model teams only: no SR, no status, no
 * triage (store/deployments.ts). A clinical run's SR is queued only after its findings commit, and
 * this resolves once it is: a caller that retries on a throw leaves no findings without an SR.
 */
export async function recordRunFindings(deps: RecordFindingsDeps, run: RunFindings): Promise<void> {
  const actor = `model:${run.modelKey}`;
  if (run.deployment === 'shadow') {
    await deps.store.recordShadowFindings(run.sopInstanceUid, run.findings, actor);
    return;
  }
  await deps.store.recordFindings(run.sopInstanceUid, run.findings, actor);
  await deps.onFindings?.(run.sopInstanceUid, run.modelKey);
}
