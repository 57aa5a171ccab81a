import type { ClinicalAssessment } from '../inference/triage.ts';
import { REQUEST_REDIS_WAIT_MS } from '../queue/enqueue.ts';
import type { SiteScope } from '../store/store.ts';
import type { ApiDeps } from './deps.ts';

/**
 * A patient's assessment becomes a study's: stored on the study (which re-triages it, audited as
 * `study.assessed`), then the study's images still waiting for AI are moved in the queue to its
 * new priority. What `POST /v1/triage` with a study does, and what a new home NEWS2 does for each
 * recent study of the patient (api/vitals-ingest.ts): one path, so both re-order alike.
 */
export async function recordStudyAssessment(deps: Pick<ApiDeps, 'store' | 'readAssist'>, studyInstanceUid: string, clinical: ClinicalAssessment, actor: string, scope: SiteScope) {
  const assessed = await deps.store.recordClinical(studyInstanceUid, { ...clinical }, actor, scope);
  // The assessment is committed; moving the study's waiting jobs up must not hold the answer while Redis is away.
  const waiting = await deps.store.queuedInstances(studyInstanceUid);
  await deps.readAssist.within(Promise.all(waiting.map((instance) =>
    // The clinical runs the image still waits for (a canary's on its clinical studies too); shadow jobs stay behind.
    deps.readAssist.reprioritise(instance.sopInstanceUid, instance.pendingModels, assessed.priority))), REQUEST_REDIS_WAIT_MS);
  return assessed;
}
