import type { VitalsAnswer } from '../contract/vitals.ts';
import type { TriageLevel } from '../contract/studies.ts';
import { assess, triageOf } from '../inference/assess.ts';
import type { ClinicalAssessment } from '../inference/triage.ts';
import { news2Body, vitalsRules, withNews2 } from '../pipeline/vitals/news2-series.ts';
import { checkReadings, news2Model, vitalFeatures, type RawReading } from '../pipeline/vitals/observations.ts';
import { readingKey } from '../store/vitals.ts';
import type { Authenticated } from './auth.ts';
import type { ApiDeps } from './deps.ts';
import { recordStudyAssessment } from './study-assessment.ts';

/**
 * Studies of the patient a new NEWS2 re-triages: those received in the last 7 days. A film of
 * this week is still being read or acted on; an older one's triage is history, and re-ranking it
 * would push it up a worklist it has already left.
 */
export const RETRIAGE_STUDIES_WITHIN_MS = 7 * 24 * 3600_000;

/**
 * The story of one vitals request, whichever door it came by (`POST /v1/vitals`, a FHIR Bundle):
 * every reading checked by the NEWS2 card (nothing stored unless all are good); stored, the NEWS2
 * series re-evaluated and alerts raised in one transaction (store/vitals.ts); then, for each
 * patient whose latest NEWS2 changed, that NEWS2 replaces the NEWS2 in the assessment of the
 * patient's recent studies (their other scores kept), re-triaged as `POST /v1/triage` does
 * (api/study-assessment.ts).
 */
export async function receiveVitals(deps: Pick<ApiDeps, 'store' | 'registry' | 'readAssist'>, auth: Authenticated, patients: { siteId: string; patientId: string; readings: RawReading[] }[], now = new Date()): Promise<{ answers: VitalsAnswer[]; stored: boolean[] }> {
  const model = news2Model(deps.registry);
  const checked = checkReadings(model, patients.flatMap((p) => p.readings), now);
  let next = 0;
  const grouped = patients.map((p) => ({ siteId: p.siteId, patientId: p.patientId, observations: checked.slice(next, (next += p.readings.length)) }));
  const actor = auth.user.username;
  const results = await deps.store.ingestVitals(grouped, actor, vitalsRules(model));

  const features = vitalFeatures(model);
  const answers: VitalsAnswer[] = [];
  for (const r of results) {
    const studiesRetriaged: string[] = [];
    if (r.latestChanged) {
      const { clinical } = await assess(deps.registry, { scores: { [model.card.id]: news2Body(features, r.latestChanged.inputs) }, risks: {} });
      for (const study of await deps.store.recentPatientStudies(r.siteId, r.patientId, new Date(now.getTime() - RETRIAGE_STUDIES_WITHIN_MS))) {
        const previous = await deps.store.studyClinical(study) as ClinicalAssessment | undefined;
        await recordStudyAssessment(deps, study, withNews2(previous, clinical, model.card.id), actor, [r.siteId]);
        studiesRetriaged.push(study);
      }
    }
    answers.push({
      patientKey: r.patientKey, siteId: r.siteId, received: r.stored + r.duplicates, stored: r.stored, duplicates: r.duplicates,
      evaluated: r.evaluated, alertsRaised: r.alertsRaised.length, studiesRetriaged,
    });
  }
  const keys = new Map(results.map((r) => [`${r.siteId}\u0000${r.patientId}`, r.storedKeys]));
  const stored = grouped.flatMap((g) => g.observations.map((o) => keys.get(`${g.siteId}\u0000${g.patientId}`)!.has(readingKey(o.parameter, o.deviceId, o.at))));
  return { answers, stored };
}

/**
 * The triage level of a patient's home vital signs: the triage policy over their latest NEWS2 at
 * the site, as a study of theirs would be triaged by it; undefined without a NEWS2 there.
 */
export async function homeVitalsTriageLevel(deps: Pick<ApiDeps, 'store' | 'registry'>, siteId: string, patientId: string): Promise<TriageLevel | undefined> {
  const latest = await deps.store.latestNews2(siteId, patientId);
  if (!latest) return undefined;
  const model = news2Model(deps.registry);
  const { clinical } = await assess(deps.registry, { scores: { [model.card.id]: news2Body(vitalFeatures(model), latest.inputs) }, risks: {} });
  return triageOf(deps.registry, clinical).level;
}
