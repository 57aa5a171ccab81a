/**
 * The home vital-signs calls (`/v1/vital-alerts*`, `/v1/patients/{patientKey}/vitals`,
 * docs/network.md "Home vital signs"), on the shared request helper of ../api.ts.
 */
import type { PatientVitals, StudyHomeVitals, VitalAlert } from '../../../contract/vitals.ts';
import { json, query } from '../api.ts';

export type { News2Point, PatientVitals, StoredObservation, VitalAlert, VitalParameter } from '../../../contract/vitals.ts';

export function getPatientVitals(patientKey: string, signal?: AbortSignal): Promise<PatientVitals> {
  return json<PatientVitals>(`/v1/patients/${encodeURIComponent(patientKey)}/vitals`, { signal });
}

export async function listVitalAlerts(status: 'open' | 'acknowledged', signal?: AbortSignal): Promise<VitalAlert[]> {
  return (await json<{ items: VitalAlert[] }>(`/v1/vital-alerts${query({ status })}`, { signal })).items;
}

export function acknowledgeVitalAlert(id: number): Promise<VitalAlert> {
  return json<VitalAlert>(`/v1/vital-alerts/${id}/acknowledge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
}

/** The study's patient's key and whether they have home readings: what the study view links by. */
export function getStudyHomeVitals(studyInstanceUid: string, signal?: AbortSignal): Promise<StudyHomeVitals> {
  return json<StudyHomeVitals>(`/v1/studies/${encodeURIComponent(studyInstanceUid)}/home-vitals`, { signal });
}
