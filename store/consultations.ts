/**
 * Consultations (migration 020, contract/consultations.ts): a case a site asks a site that
 * reads for it — or one a site's policy opens on its own — from asking to answer. Every step
 * is one audited transaction whose actor is the authenticated user (`policy:<site>` for a
 * routed case), announced after it commits (StoreOptions.onConsultation). A case is visible to
 * users whose scope holds its asking or its answering site; to anyone else it does not exist.
 * Past 300 lines because the routed cases (opened inside the review and findings writes) share
 * the row, the SLA clock and the audit record with the asked ones; split, they would copy them.
 */
import { randomUUID } from 'node:crypto';
import {
  consultationPolicy, DEFAULT_CONSULTATION_SLA_MINUTES, type Consultation, type ConsultationChange, type ConsultationListQuery,
  type ConsultationOpinionRequest, type ConsultationOrigin, type ConsultationPolicy, type ConsultationRequest, type ConsultationSubject, type ConsultationUrgency,
} from '../contract/consultations.ts';
import type { Site } from '../contract/sites.ts';
import type { TriageLevel } from '../contract/studies.ts';
import { appendAudit, auditedTransaction, type AuditedTx } from './audit.ts';
import type { Queryable } from './db.ts';
import { patientKeyOf } from './fhir-reads.ts';
import { InvalidReferenceError, iso, NotFoundError, optional, type StoreContext } from './shared.ts';
import { ALL_SITES, sitesParam, type SiteScope } from './sites.ts';
import type { FindingRow } from './study-reads.ts';
import { AI_ASSISTED_NOTICE, type FindingInput } from './types.ts';
import { CLINICAL_FINDINGS } from './clinical-findings.ts';

/** What every case says of the AI in it: its findings and hints are for clinicians; the opinion is the consultant's own. */
export const CONSULTATION_AI_NOTICE = `${AI_ASSISTED_NOTICE} The consultant's opinion is a clinician's, given with the AI's findings in view.`;

/**
 * A step the case's state or the caller's side does not allow: 403 (the caller's site is not the
 * side that may take it), 409 (the case has moved past it) or 422 (a rule of asking), with a code.
 */
export class ConsultationRefusedError extends Error {
  constructor(readonly status: 403 | 409 | 422, readonly code: string, message: string, readonly field?: string) {
    super(message);
  }
}

/** Who acts: the authenticated user, its own sites (where it asks from) and its scope (what it reads and answers). */
export interface ConsultationActor {
  username: string;
  sites: readonly string[];
  scope: SiteScope;
}

/**
 * A routed case's urgency from its study's triage level: a level I (濒危) study is an emergency,
 * II–III (危重, 急症) urgent, IV and an unknown level routine.
 */
export const ROUTED_URGENCY: Record<TriageLevel | 'unknown', ConsultationUrgency> = { I: 'emergency', II: 'urgent', III: 'urgent', IV: 'routine', unknown: 'routine' };

interface ConsultationRow {
  id: string;
  from_site_id: string;
  to_site_id: string;
  origin: ConsultationOrigin;
  asked_by: string;
  asked_at: Date | string;
  subject: ConsultationSubject;
  question: string;
  urgency: ConsultationUrgency;
  status: Consultation['status'];
  triage_level: TriageLevel | null;
  sla_minutes: number;
  due_at: Date | string;
  patient_consented: boolean | null;
  opened_by: string | null;
  opened_at: Date | string | null;
  opinion: ConsultationOpinionRequest | null;
  answered_by: string | null;
  answered_at: Date | string | null;
  withdrawn_by: string | null;
  withdrawn_at: Date | string | null;
}

/** The SLA is breached once the case is still unanswered past its due time, or was answered (or withdrawn) after it. */
function consultationFromRow(row: ConsultationRow, now = new Date()): Consultation {
  const settledAt = row.answered_at ?? row.withdrawn_at;
  const dueAt = new Date(row.due_at);
  return {
    id: row.id,
    fromSiteId: row.from_site_id,
    toSiteId: row.to_site_id,
    origin: row.origin,
    askedBy: row.asked_by,
    askedAt: iso(row.asked_at),
    subject: row.subject,
    question: row.question,
    urgency: row.urgency,
    status: row.status,
    triageLevel: optional(row.triage_level),
    sla: { targetMinutes: row.sla_minutes, dueAt: dueAt.toISOString(), breached: (settledAt ? new Date(settledAt) : now) > dueAt },
    openedBy: optional(row.opened_by),
    openedAt: row.opened_at === null ? undefined : iso(row.opened_at),
    opinion: row.opinion === null ? undefined : { ...row.opinion, answeredBy: row.answered_by!, answeredAt: iso(row.answered_at!) },
    withdrawnBy: optional(row.withdrawn_by),
    withdrawnAt: row.withdrawn_at === null ? undefined : iso(row.withdrawn_at),
    patientKey: row.subject.kind === 'vitals' ? patientKeyOf(row.from_site_id, row.subject.patientId) : undefined,
    aiAssisted: CONSULTATION_AI_NOTICE,
  };
}

/** Active cases first, then triage level I before IV (unknown last), then the earliest due. */
const QUEUE_ORDER = `status in ('answered', 'withdrawn'), case triage_level when 'I' then 1 when 'II' then 2 when 'III' then 3 when 'IV' then 4 else 5 end, due_at, asked_at`;

/** A case visible within `scope` ($2): asked by or of one of its sites. */
const VISIBLE = '($2::text[] is null or from_site_id = any($2) or to_site_id = any($2))';

const inScope = (scope: SiteScope, siteId: string) => scope === ALL_SITES || scope.includes(siteId);

/** The change to announce once a step commits. */
const changeOf = (row: Pick<ConsultationRow, 'id' | 'from_site_id' | 'to_site_id'>, change: ConsultationChange['change']): ConsultationChange =>
  ({ type: 'consultation', id: row.id, change, fromSiteId: row.from_site_id, toSiteId: row.to_site_id });

/** Tells live views (the asker's and the answering site's) that a case changed. Never throws into the committed write. */
export function announceConsultation(options: StoreContext['options'], change: ConsultationChange | undefined): void {
  if (change) options.onConsultation?.(change);
}

/** The site's policy (the contract's defaults where none is set). */
async function policyOf(db: Queryable, siteId: string): Promise<ConsultationPolicy> {
  const { rows: [row] } = await db.query<{ policy: unknown }>('select policy from consultation_policies where site_id = $1', [siteId]);
  return consultationPolicy.parse(row?.policy ?? {});
}

/** A site as a case names it: its name and level. */
export type CaseSite = Pick<Site, 'id' | 'name' | 'level'>;

async function siteRow(db: Queryable, siteId: string): Promise<CaseSite> {
  const { rows: [row] } = await db.query<CaseSite>('select id, name, level from sites where id = $1', [siteId]);
  if (!row) throw new NotFoundError(`site ${siteId} does not exist`);
  return row;
}

const readsFor = async (db: Queryable, readerSiteId: string, readSiteId: string) =>
  (await db.query('select 1 from site_reading where reader_site_id = $1 and read_site_id = $2', [readerSiteId, readSiteId])).rows.length > 0;

interface NewCase {
  fromSiteId: string;
  toSiteId: string;
  origin: ConsultationOrigin;
  askedBy: string;
  subject: ConsultationSubject;
  question: string;
  urgency: ConsultationUrgency;
  triageLevel?: TriageLevel;
  patientConsented: boolean | null;
  idempotencyKey?: string;
  /** What the `consultation.asked` record adds about why the case was opened. */
  because?: Record<string, unknown>;
}

/**
 * Inserts a case with its SLA clock from the answering site's policy, and its `consultation.asked`
 * record. A routed case whose key exists already writes nothing and returns undefined.
 */
async function insertCase(tx: AuditedTx, input: NewCase): Promise<ConsultationRow | undefined> {
  const slaMinutes = (await policyOf(tx, input.toSiteId)).slaMinutes[input.urgency];
  const study = input.subject.kind === 'study' ? input.subject.studyInstanceUid : null;
  const { rows: [row] } = await tx.query<ConsultationRow>(
    `insert into consultations (id, from_site_id, to_site_id, origin, asked_by, subject, study_instance_uid, question, urgency, triage_level,
       sla_minutes, due_at, patient_consented, idempotency_key)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now() + make_interval(mins => $11), $12, $13)
     on conflict (idempotency_key) do nothing returning *`,
    [randomUUID(), input.fromSiteId, input.toSiteId, input.origin, input.askedBy, JSON.stringify(input.subject), study, input.question, input.urgency,
      input.triageLevel ?? null, slaMinutes, input.patientConsented, input.idempotencyKey ?? null]);
  if (!row) return undefined;
  await appendAudit(tx, {
    actor: input.askedBy, action: 'consultation.asked', entityType: 'consultation', entityId: row.id,
    payload: {
      fromSiteId: input.fromSiteId, toSiteId: input.toSiteId, origin: input.origin, subject: subjectReference(input.subject), question: input.question,
      urgency: input.urgency, triageLevel: input.triageLevel ?? null, slaMinutes, dueAt: iso(row.due_at),
      patientConsented: input.patientConsented, ...(input.because && { because: input.because }),
    },
    ...(input.idempotencyKey && { idempotencyKey: `consultation.asked:${input.idempotencyKey}` }),
  });
  return row;
}

/** The subject as the trail names it: a study by UID, vitals by patient, an assessment by its patient and level (not the whole form). */
function subjectReference(subject: ConsultationSubject): Record<string, unknown> {
  if (subject.kind !== 'assessment') return subject;
  return { kind: 'assessment', patientId: subject.patientId ?? null, triageLevel: subject.answer.triage.level };
}

/** The case within `scope`, locked for a step; NotFoundError outside it. */
async function lockedCase(tx: AuditedTx, id: string, scope: SiteScope): Promise<ConsultationRow> {
  const { rows: [row] } = await tx.query<ConsultationRow>(`select * from consultations where id = $1 and ${VISIBLE} for update`, [id, sitesParam(scope)]);
  if (!row) throw new NotFoundError(`consultation ${id} does not exist`);
  return row;
}

/** Refuses a step on a case already answered or withdrawn. */
function requireActive(row: ConsultationRow, step: string): void {
  if (row.status === 'answered') throw new ConsultationRefusedError(409, 'CONSULTATION_ANSWERED', `consultation ${row.id} was answered by ${row.answered_by} at ${iso(row.answered_at!)}; it cannot be ${step}`);
  if (row.status === 'withdrawn') throw new ConsultationRefusedError(409, 'CONSULTATION_WITHDRAWN', `consultation ${row.id} was withdrawn by ${row.withdrawn_by}; it cannot be ${step}`);
}

function requireAnsweringSide(row: ConsultationRow, actor: ConsultationActor, step: string): void {
  if (!inScope(actor.scope, row.to_site_id)) {
    throw new ConsultationRefusedError(403, 'NOT_THE_ANSWERING_SITE', `only a user of site ${row.to_site_id}, which is asked, may ${step} consultation ${row.id}`);
  }
}

/** The consultation reads and writes, each given the store's context first (bindContext). */
export const consultationAccess = {
  /**
   * Asks a site that reads for the asker's. Contract: one audited transaction, the case and
   * `consultation.asked` (actor the asker, with the consent attestation), or nothing at all with
   * ConsultationRefusedError 422 (a site not the asker's own, an answering site that does not read
   * for it, a study of another of its sites) or NotFoundError (a study outside the asker's scope).
   */
  /** `vitalsLevel`: for a home-vital-signs subject, the triage level of the patient's latest NEWS2 at the asking site. */
  async askConsultation({ db, options }: StoreContext, request: ConsultationRequest, actor: ConsultationActor, vitalsLevel?: TriageLevel): Promise<Consultation> {
    const fromSiteId = request.fromSiteId ?? actor.sites[0];
    if (!actor.sites.includes(fromSiteId)) {
      throw new ConsultationRefusedError(422, 'NOT_YOUR_SITE', `${actor.username} does not act for site ${fromSiteId}; a consultation is asked from one of ${actor.sites.join(', ')}`, 'fromSiteId');
    }
    const row = await auditedTransaction(db, async (tx) => {
      if (!(await readsFor(tx, request.toSiteId, fromSiteId))) {
        throw new ConsultationRefusedError(422, 'NOT_A_READING_SITE', `site ${request.toSiteId} does not read for site ${fromSiteId}: a consultation goes to a site that reads for the asking site`, 'toSiteId');
      }
      const triageLevel = await subjectTriageLevel(tx, request.subject, fromSiteId, actor.scope, vitalsLevel);
      return (await insertCase(tx, {
        fromSiteId, toSiteId: request.toSiteId, origin: 'asked', askedBy: actor.username, subject: request.subject, question: request.question,
        urgency: request.urgency, triageLevel, patientConsented: request.patientConsented,
      }))!;
    });
    announceConsultation(options, changeOf(row, 'asked'));
    return consultationFromRow(row);
  },

  /** `queue`: cases asked of sites in `scope`; `asked`: cases its sites asked. `siteId` narrows to one of them (NotFoundError outside the scope). */
  async listConsultations({ db }: StoreContext, query: ConsultationListQuery, scope: SiteScope): Promise<Consultation[]> {
    if (query.siteId && !inScope(scope, query.siteId)) throw new NotFoundError(`site ${query.siteId} does not exist`);
    const side = query.box === 'queue' ? 'to_site_id' : 'from_site_id';
    const { rows } = await db.query<ConsultationRow>(
      `select * from consultations
        where ($1::text[] is null or ${side} = any($1)) and ($2::text is null or ${side} = $2) and ($3::text[] is null or status = any($3))
        order by ${QUEUE_ORDER} limit $4`,
      [sitesParam(scope), query.siteId ?? null, query.status ?? null, query.limit]);
    const now = new Date();
    return rows.map((row) => consultationFromRow(row, now));
  },

  /** The case, if its asking or answering site is in `scope`; NotFoundError otherwise. */
  async getConsultation({ db }: StoreContext, id: string, scope: SiteScope): Promise<Consultation> {
    const { rows: [row] } = await db.query<ConsultationRow>(`select * from consultations where id = $1 and ${VISIBLE}`, [id, sitesParam(scope)]);
    if (!row) throw new NotFoundError(`consultation ${id} does not exist`);
    return consultationFromRow(row);
  },

  /**
   * A user of the answering site opens the case. Contract: the first open moves it from `open` to
   * `in-review` with `consultation.opened` (actor, one transaction); a later open changes nothing.
   * ConsultationRefusedError 403 for a user not of the answering site.
   */
  async openConsultation({ db, options }: StoreContext, id: string, actor: ConsultationActor): Promise<Consultation> {
    const { row, opened } = await auditedTransaction(db, async (tx) => {
      const row = await lockedCase(tx, id, actor.scope);
      requireAnsweringSide(row, actor, 'open');
      if (row.status !== 'open') return { row, opened: false };
      const { rows: [updated] } = await tx.query<ConsultationRow>(
        `update consultations set status = 'in-review', opened_by = $2, opened_at = now() where id = $1 returning *`, [id, actor.username]);
      await appendAudit(tx, { actor: actor.username, action: 'consultation.opened', entityType: 'consultation', entityId: id, payload: { toSiteId: row.to_site_id, fromSiteId: row.from_site_id } });
      return { row: updated, opened: true };
    });
    if (opened) announceConsultation(options, changeOf(row, 'opened'));
    return consultationFromRow(row);
  },

  /**
   * The consultant's opinion. Contract: one audited transaction, the opinion and
   * `consultation.answered` (actor the consultant; the case counts as opened by them if no one
   * had). Once only: a second answer, or an answer to a withdrawn case, is ConsultationRefusedError
   * 409 and writes nothing; a user not of the answering site, 403.
   */
  async answerConsultation({ db, options }: StoreContext, id: string, opinion: ConsultationOpinionRequest, actor: ConsultationActor): Promise<Consultation> {
    const row = await auditedTransaction(db, async (tx) => {
      const row = await lockedCase(tx, id, actor.scope);
      requireAnsweringSide(row, actor, 'answer');
      requireActive(row, 'answered');
      const { rows: [updated] } = await tx.query<ConsultationRow>(
        `update consultations set status = 'answered', opinion = $2, answered_by = $3, answered_at = now(),
                opened_by = coalesce(opened_by, $3), opened_at = coalesce(opened_at, now())
          where id = $1 returning *`, [id, JSON.stringify(opinion), actor.username]);
      await appendAudit(tx, {
        actor: actor.username, action: 'consultation.answered', entityType: 'consultation', entityId: id,
        payload: { ...opinion, fromSiteId: row.from_site_id, toSiteId: row.to_site_id, slaBreached: consultationFromRow(updated).sla.breached },
      });
      return updated;
    });
    announceConsultation(options, changeOf(row, 'answered'));
    return consultationFromRow(row);
  },

  /**
   * The asking side takes its question back. Contract: one audited transaction, the case
   * `withdrawn` and `consultation.withdrawn`; only a user of the asking site (403 otherwise), only
   * before it is answered (409).
   */
  async withdrawConsultation({ db, options }: StoreContext, id: string, actor: ConsultationActor): Promise<Consultation> {
    const row = await auditedTransaction(db, async (tx) => {
      const row = await lockedCase(tx, id, actor.scope);
      if (!actor.sites.includes(row.from_site_id)) {
        throw new ConsultationRefusedError(403, 'NOT_THE_ASKING_SITE', `only a user of site ${row.from_site_id}, which asked, may withdraw consultation ${id}`);
      }
      requireActive(row, 'withdrawn');
      const { rows: [updated] } = await tx.query<ConsultationRow>(
        `update consultations set status = 'withdrawn', withdrawn_by = $2, withdrawn_at = now() where id = $1 returning *`, [id, actor.username]);
      await appendAudit(tx, { actor: actor.username, action: 'consultation.withdrawn', entityType: 'consultation', entityId: id, payload: { fromSiteId: row.from_site_id, toSiteId: row.to_site_id, statusBefore: row.status } });
      return updated;
    });
    announceConsultation(options, changeOf(row, 'withdrawn'));
    return consultationFromRow(row);
  },

  /**
   * What the printable report shows — the case, both sites, and for a study its patient, modality,
   * date and AI findings — with `consultation.report-exported` (actor, language) in the same
   * transaction: no report leaves unrecorded. NotFoundError outside `scope`.
   */
  async consultationReport({ db }: StoreContext, id: string, scope: SiteScope, actor: string, lang: string): Promise<ConsultationReportData> {
    return auditedTransaction(db, async (tx) => {
      const row = await lockedCase(tx, id, scope);
      const consultation = consultationFromRow(row);
      const [fromSite, toSite] = [await siteRow(tx, row.from_site_id), await siteRow(tx, row.to_site_id)];
      const study = row.subject.kind === 'study' ? await reportStudy(tx, row.subject.studyInstanceUid) : undefined;
      await appendAudit(tx, {
        actor, action: 'consultation.report-exported', entityType: 'consultation', entityId: id,
        payload: { lang, status: row.status, ...(study && { studyInstanceUid: study.studyInstanceUid }) },
      });
      return { consultation, fromSite, toSite, study, patientConsented: row.patient_consented };
    });
  },

  /** The site's consultation policy (defaults where none is set); NotFoundError for an unknown site. */
  async consultationPolicy({ db }: StoreContext, siteId: string): Promise<ConsultationPolicy> {
    await siteRow(db, siteId);
    return policyOf(db, siteId);
  },

  /**
   * Sets a site's policy. Contract: one audited transaction, the policy and
   * `consultation.policy-set` (actor the admin, before and after). NotFoundError for an unknown
   * site; InvalidReferenceError when `routeToSiteId` does not read for the site.
   */
  async setConsultationPolicy({ db }: StoreContext, siteId: string, policy: ConsultationPolicy, actor: string): Promise<ConsultationPolicy> {
    return auditedTransaction(db, async (tx) => {
      await siteRow(tx, siteId);
      if (policy.routeToSiteId && !(await readsFor(tx, policy.routeToSiteId, siteId))) {
        throw new InvalidReferenceError('routeToSiteId', `site ${policy.routeToSiteId} does not read for site ${siteId}: routed cases go to a site that reads for it`);
      }
      const before = await policyOf(tx, siteId);
      await tx.query(
        `insert into consultation_policies (site_id, policy, updated_by) values ($1, $2, $3)
         on conflict (site_id) do update set policy = excluded.policy, updated_by = excluded.updated_by, updated_at = now()`,
        [siteId, JSON.stringify(policy), actor]);
      await appendAudit(tx, { actor, action: 'consultation.policy-set', entityType: 'site', entityId: siteId, payload: { before, after: policy } });
      return policy;
    });
  },
};

/**
 * The case's triage level from its subject, checking the subject may be asked about: a study
 * must be within the asker's scope (NotFoundError) and of the asking site (422); an assessment
 * carries its own level; home vital signs have the level the caller gave from their latest NEWS2
 * (api/vitals-ingest.ts homeVitalsTriageLevel: the triage policy lives above the store).
 */
async function subjectTriageLevel(tx: Queryable, subject: ConsultationSubject, fromSiteId: string, scope: SiteScope, vitalsLevel: TriageLevel | undefined): Promise<TriageLevel | undefined> {
  if (subject.kind === 'assessment') return subject.answer.triage.level;
  if (subject.kind === 'vitals') return vitalsLevel;
  const { rows: [study] } = await tx.query<{ site_id: string; level: TriageLevel | null }>(
    `select site_id, triage->>'level' as level from studies where study_instance_uid = $1 and ($2::text[] is null or site_id = any($2))`,
    [subject.studyInstanceUid, sitesParam(scope)]);
  if (!study) throw new NotFoundError(`study ${subject.studyInstanceUid} does not exist`);
  if (study.site_id !== fromSiteId) {
    throw new ConsultationRefusedError(422, 'STUDY_OF_ANOTHER_SITE', `study ${subject.studyInstanceUid} belongs to site ${study.site_id}, not to the asking site ${fromSiteId}`, 'subject.studyInstanceUid');
  }
  return optional(study.level);
}

/** A study as the report shows it. */
export interface ReportStudy {
  studyInstanceUid: string;
  patientId?: string;
  patientName?: string;
  patientSex?: string;
  patientAge?: string;
  modality?: string;
  studyDate?: string;
  studyDescription?: string;
  /** `notApplicable`: why the model could not read the image, in both languages. */
  findings: { label: string; display: string; probability: number | null; positive: boolean; refer: boolean; notApplicable?: { en: string; zh: string }; model: string }[];
}

export interface ConsultationReportData {
  consultation: Consultation;
  fromSite: CaseSite;
  toSite: CaseSite;
  study?: ReportStudy;
  /** The asker's consent attestation; null for a routed case (no patient asked: a review by the reading site). */
  patientConsented: boolean | null;
}

async function reportStudy(db: Queryable, studyInstanceUid: string): Promise<ReportStudy | undefined> {
  const { rows: [study] } = await db.query<Record<string, string | null>>('select * from studies where study_instance_uid = $1', [studyInstanceUid]);
  if (!study) return undefined;
  const { rows } = await db.query<FindingRow>(`select * from ${CLINICAL_FINDINGS} findings where study_instance_uid = $1 order by label, probability desc nulls last, id`, [studyInstanceUid]);
  return {
    studyInstanceUid,
    patientId: optional(study.patient_id), patientName: optional(study.patient_name), patientSex: optional(study.patient_sex), patientAge: optional(study.patient_age),
    modality: optional(study.modality), studyDate: optional(study.study_date), studyDescription: optional(study.study_description),
    findings: rows.map((f) => ({
      label: f.label, display: f.display, probability: f.probability, positive: f.positive, refer: f.refer,
      notApplicable: f.applicability?.reason && { en: f.applicability.reason.text, zh: f.applicability.reason.textZh }, model: `${f.model.id} ${f.model.version}`,
    })),
  };
}

/** What a policy needs to route one study: its site (a village or township), where to, and the study's level. */
interface Route extends LowConfidenceRoute {
  triageLevel?: TriageLevel;
}

/** Where a study's case goes: its site and the site the policy names (the level is the study's, known to its caller). */
export interface LowConfidenceRoute {
  siteId: string;
  toSiteId: string;
}

/**
 * The studies row `s` and its site's policy `p`, for the study `studyExpr`, when that policy
 * routes a case whose flag is `flagExpr`: the site must be a village or township, its policy
 * must name a site that still reads for it and turn this origin on.
 */
const routedFrom = (studyExpr: string, flagExpr: string) =>
  `from studies s join sites site on site.id = s.site_id join consultation_policies p on p.site_id = s.site_id
    where s.study_instance_uid = ${studyExpr} and site.level in ('village', 'township') and (p.policy->>${flagExpr})::boolean
      and exists (select 1 from site_reading r where r.reader_site_id = p.policy->>'routeToSiteId' and r.read_site_id = s.site_id)`;

/** Where the policy of `studyInstanceUid`'s site routes a case of `origin`, if it does (routedFrom), at the study's stored level. */
async function routeOf(tx: AuditedTx, studyInstanceUid: string, origin: Exclude<ConsultationOrigin, 'asked'>): Promise<Route | undefined> {
  const flag = origin === 'ai-reader-disagreement' ? 'routeOnDisagreement' : 'routeOnLowConfidence';
  const { rows: [route] } = await tx.query<{ site_id: string; to_site_id: string; level: TriageLevel | null }>(
    `select s.site_id, p.policy->>'routeToSiteId' as to_site_id, s.triage->>'level' as level ${routedFrom('$1', '$2')}`,
    [studyInstanceUid, flag]);
  return route && { siteId: route.site_id, toSiteId: route.to_site_id, triageLevel: optional(route.level) };
}

/**
 * Select-list column `route` (a LowConfidenceRoute, or null) for the study `studyExpr`: lets the
 * findings' own statement read where its site's policy routes a low-confidence case, sparing
 * routeLowConfidence a round trip. The policy, the sites and who reads for whom change only in
 * audited transactions, so under the audit lock the answer holds until the findings' commit.
 */
export const lowConfidenceRouteColumn = (studyExpr: string) =>
  `(select json_build_object('siteId', s.site_id, 'toSiteId', p.policy->>'routeToSiteId') ${routedFrom(studyExpr, "'routeOnLowConfidence'")}) as route`;

/** Opens the routed case (once per study and origin: the key), audited as asked by `policy:<site>`. */
async function openRouted(tx: AuditedTx, route: Route, studyInstanceUid: string, origin: Exclude<ConsultationOrigin, 'asked'>, question: { en: string; zh: string }, because: Record<string, unknown>): Promise<ConsultationChange | undefined> {
  const row = await insertCase(tx, {
    fromSiteId: route.siteId, toSiteId: route.toSiteId, origin, askedBy: `policy:${route.siteId}`, subject: { kind: 'study', studyInstanceUid },
    question: `${question.en}\n${question.zh}`, urgency: ROUTED_URGENCY[route.triageLevel ?? 'unknown'], triageLevel: route.triageLevel,
    patientConsented: null, idempotencyKey: `${origin}:${studyInstanceUid}`, because,
  });
  return row && changeOf(row, 'asked');
}

/** What the AI called a finding, in both languages: what a routed case's question and the report say. */
export const findingClaim = (f: { probability: number | null; positive: boolean; refer: boolean }) =>
  (f.probability === null ? { en: 'not applicable', zh: '不适用' } : f.refer ? { en: 'refer band', zh: '转诊区间' } : f.positive ? { en: 'positive', zh: '阳性' } : { en: 'negative', zh: '阴性' });
const probabilityOf = (p: number | null) => (p === null ? '' : `, p=${p.toFixed(2)}`);

/**
 * Inside the review's transaction (store/reviews.ts): when a reader overrides an AI finding at a
 * site whose policy routes on disagreement, opens one case for the study (a second override, or
 * the same review run twice, opens none).
 */
export async function routeDisagreement(tx: AuditedTx, finding: Pick<FindingRow, 'id' | 'study_instance_uid' | 'label' | 'display' | 'probability' | 'positive' | 'refer' | 'model'>, review: { reviewer: string; reasonCode?: string; comment?: string }): Promise<ConsultationChange | undefined> {
  const route = await routeOf(tx, finding.study_instance_uid, 'ai-reader-disagreement');
  if (!route) return undefined;
  const claim = findingClaim(finding);
  const model = `${finding.model.id} ${finding.model.version}`;
  const reason = review.reasonCode ? ` (${review.reasonCode})` : '';
  return openRouted(tx, route, finding.study_instance_uid, 'ai-reader-disagreement', {
    en: `Routed by site policy: AI and reader disagree on "${finding.display}". The AI (${model}) called it ${claim.en}${probabilityOf(finding.probability)}; the reader ${review.reviewer} overrode it${reason}. Please review the study.`,
    zh: `按本站策略转上级审核：AI 与阅片医生对"${finding.display}"意见不一致。AI（${model}）判为${claim.zh}${probabilityOf(finding.probability)}；阅片医生 ${review.reviewer} 否决了该结果${reason}。请复核本检查。`,
  }, { findingId: finding.id, label: finding.label, probability: finding.probability, reviewer: review.reviewer, reasonCode: review.reasonCode ?? null });
}

/**
 * Inside the findings' transaction (store/studies.ts recordFindings): when a finding of this job
 * lands in its refer band, or the image is settled (every model answered) with no model able to
 * read it (all "not applicable"), at a village or township site whose policy routes on low
 * confidence, opens one case for the study. A "not applicable" beside another model's answer on
 * the same image is not low confidence: that image was read. A job run twice opens one case.
 * `lowConfidenceRoute` is what lowConfidenceRouteColumn read in the findings' statement, and
 * `triage` the study's ranking detail (its `level`) just stored.
 */
export async function routeLowConfidence(tx: AuditedTx, sopInstanceUid: string, studyInstanceUid: string, findings: FindingInput[], lowConfidenceRoute: LowConfidenceRoute | undefined, triage: unknown): Promise<ConsultationChange | undefined> {
  if (!lowConfidenceRoute) return undefined;
  const route: Route = { ...lowConfidenceRoute, triageLevel: levelOf(triage) };
  const refer = findings.find((f) => f.refer && f.probability !== null);
  const uncertain = refer ?? await unreadImage(tx, sopInstanceUid);
  if (!uncertain) return undefined;
  const claim = findingClaim(uncertain);
  const why = uncertain.probability === null ? ` (${uncertain.applicability?.reason?.text ?? 'outside the models\' populations'})` : '';
  const whyZh = uncertain.probability === null ? `（${uncertain.applicability?.reason?.textZh ?? uncertain.applicability?.reason?.text ?? '超出模型适用人群'}）` : '';
  const model = `${uncertain.model.id} ${uncertain.model.version}`;
  return openRouted(tx, route, studyInstanceUid, 'ai-low-confidence', {
    en: `Routed by site policy: the AI is not confident on "${uncertain.display}". ${model} answered ${claim.en}${probabilityOf(uncertain.probability)}${why}. Please read the study.`,
    zh: `按本站策略转上级审核：AI 对"${uncertain.display}"把握不足。${model} 的结果为${claim.zh}${probabilityOf(uncertain.probability)}${whyZh}。请阅片。`,
  }, { sopInstanceUid, label: uncertain.label, probability: uncertain.probability, refer: uncertain.refer, model: uncertain.model });
}

/** The `level` of a study's stored ranking detail (studies.triage), as `triage->>'level'` reads it back. */
function levelOf(triage: unknown): TriageLevel | undefined {
  const level = (triage as { level?: unknown } | null | undefined)?.level;
  return typeof level === 'string' ? level as TriageLevel : undefined;
}

/** The image's first "not applicable" finding, when every model has answered and none could read it. */
async function unreadImage(tx: AuditedTx, sopInstanceUid: string): Promise<Pick<FindingInput, 'label' | 'display' | 'probability' | 'positive' | 'refer' | 'model' | 'applicability'> | undefined> {
  const { rows: [row] } = await tx.query<FindingRow>(
    `select f.* from ${CLINICAL_FINDINGS} f join instances i on i.sop_instance_uid = f.sop_instance_uid
      where f.sop_instance_uid = $1 and cardinality(i.pending_models) = 0
        and not exists (select 1 from ${CLINICAL_FINDINGS} c where c.sop_instance_uid = $1 and c.probability is not null)
      order by f.id limit 1`, [sopInstanceUid]);
  return row && { label: row.label, display: row.display, probability: row.probability, positive: row.positive, refer: row.refer, model: row.model, applicability: optional(row.applicability) };
}
