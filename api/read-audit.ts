import type { Consultation } from '../contract/consultations.ts';
import { studyRead, type StudyReadKind } from '../store/read-audits.ts';
import type { ApiDeps } from './deps.ts';
import type { Authenticated } from './auth.ts';

/**
 * The names reads of patient data go by in the audit trail, in one place. Each call counts
 * one read by the signed-in user into a record the store writes in the background
 * (store/read-audits.ts: one record per user × study or list × window, never waited for);
 * it throws AuditUnavailableError (503) only while the audit cannot keep up.
 */

/** `study.viewed` of one study (store/read-audits.ts `studyRead`). */
export function auditStudyRead(deps: Pick<ApiDeps, 'store'>, auth: Authenticated, studyInstanceUid: string, what: StudyReadKind): void {
  deps.store.recordRead(auth.user.username, studyRead(studyInstanceUid, what));
}

/**
 * A list that showed these studies' patient data: one record per user per window naming
 * the union of studies shown (`worklist.viewed`, or `research.listed` for the de-identified list).
 */
export function auditListRead(deps: Pick<ApiDeps, 'store'>, auth: Authenticated, list: 'worklist' | 'research', studies: readonly string[]): void {
  const action = list === 'worklist' ? 'worklist.viewed' : 'research.listed';
  deps.store.recordRead(auth.user.username, { action, entityType: 'list', entityId: list, what: 'view', studies });
}

const studiesOf = (cases: readonly Pick<Consultation, 'subject'>[]) => cases.flatMap((c) => (c.subject.kind === 'study' ? [c.subject.studyInstanceUid] : []));

/** `consultation.viewed`: a case read (its view, or opened by the answering site), entity the case, naming its study when it is about one. */
export function auditConsultationRead(deps: Pick<ApiDeps, 'store'>, auth: Authenticated, consultation: Pick<Consultation, 'id' | 'subject'>): void {
  deps.store.recordRead(auth.user.username, { action: 'consultation.viewed', entityType: 'consultation', entityId: consultation.id, what: 'view', studies: studiesOf([consultation]) });
}

/** `consultations.listed`: a box of cases shown (`queue` or `asked`), naming the studies of the cases in it. */
export function auditConsultationList(deps: Pick<ApiDeps, 'store'>, auth: Authenticated, box: 'queue' | 'asked', cases: readonly Pick<Consultation, 'subject'>[]): void {
  deps.store.recordRead(auth.user.username, { action: 'consultations.listed', entityType: 'list', entityId: `consultations:${box}`, what: 'view', studies: studiesOf(cases) });
}

/**
 * `patient.viewed`: a patient's demographics read on their own (the FHIR Patient), entity the
 * patient's FHIR id (a hash: no Patient ID in the trail), naming the studies they came from.
 */
export function auditPatientRead(deps: Pick<ApiDeps, 'store'>, auth: Authenticated, patientFhirId: string, studies: readonly string[]): void {
  deps.store.recordRead(auth.user.username, { action: 'patient.viewed', entityType: 'patient', entityId: patientFhirId, what: 'view', studies });
}

/**
 * `dimse.searched`: a DIMSE C-FIND that answered with these studies' patient data (api/dimse) — the
 * counterpart of QIDO-RS's `dicomweb.searched` — one record per user per window naming the union of
 * studies; the actor is the user the calling AE title speaks for.
 */
export function auditDimseFind(deps: Pick<ApiDeps, 'store'>, username: string, studies: readonly string[]): void {
  deps.store.recordRead(username, { action: 'dimse.searched', entityType: 'list', entityId: 'c-find', what: 'view', studies });
}
