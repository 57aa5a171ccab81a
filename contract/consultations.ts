import { z } from 'zod';
import { triageAnswer, triageRequest } from './calculations.ts';
import { siteId } from './sites.ts';
import { triageLevel } from './studies.ts';
import { patientKey } from './vitals.ts';

/**
 * Remote reading and consultation (远程影像诊断 / 远程会诊, issue 14). A grassroots doctor
 * asks an upper-level site — one that reads for the asker's site (a reading relation an
 * admin sets) — about a study, an assessment (the hints result) or a patient's home vital
 * signs. The case waits in that site's queue, ordered by triage level and then by its SLA
 * clock; a consultant answers with a structured opinion and free text; the asker sees the
 * answer live. A site's policy can also open a case on its own: when the reader overrides
 * the AI, or when an AI finding lands in the refer band or is not applicable.
 */

export const CONSULTATION_URGENCIES = ['routine', 'urgent', 'emergency'] as const;
export const consultationUrgency = z.enum(CONSULTATION_URGENCIES);

/** Minutes from asking to answer, per urgency, unless the answering site's policy says otherwise. */
export const DEFAULT_CONSULTATION_SLA_MINUTES = { emergency: 30, urgent: 120, routine: 24 * 60 } as const satisfies Record<z.infer<typeof consultationUrgency>, number>;

export const CONSULTATION_STATUSES = ['open', 'in-review', 'answered', 'withdrawn'] as const;
export const consultationStatus = z.enum(CONSULTATION_STATUSES);

/** What the consultant advises; each has an English and a Chinese label in the viewer and the report. */
export const CONSULTATION_RECOMMENDATIONS = ['refer', 'treat-locally', 'repeat-film', 'further-tests', 'follow-up'] as const;
export const consultationRecommendation = z.enum(CONSULTATION_RECOMMENDATIONS);

/** Why a case was opened: a person asked, or the site's policy routed it. */
export const CONSULTATION_ORIGINS = ['asked', 'ai-reader-disagreement', 'ai-low-confidence'] as const;
export const consultationOrigin = z.enum(CONSULTATION_ORIGINS);

/** A Patient ID as the site's records carry it (DICOM LO). In bodies only, never in a URL. */
const patientId = z.string().trim().min(1).max(64);
const text = (max: number) => z.string().trim().min(1).max(max);

/** What the case is about: one of the asker's studies, an assessment made in Lantern, or a patient's home vital signs. */
export const consultationSubject = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('study'), studyInstanceUid: z.string().min(1).max(64) }).strict(),
  /** The hints form's request and answer as the asker saw them: the consultant sees the same. */
  z.object({ kind: z.literal('assessment'), patientId: patientId.optional(), request: triageRequest, answer: triageAnswer }).strict(),
  z.object({ kind: z.literal('vitals'), patientId }).strict(),
]).meta({ id: 'ConsultationSubject' });

/** `POST /v1/consultations`: the asker's site is the asker's first site unless `fromSiteId` names another of theirs. */
export const consultationRequest = z.object({
  toSiteId: siteId,
  fromSiteId: siteId.optional(),
  subject: consultationSubject,
  question: text(4000),
  urgency: consultationUrgency,
  /**
   * Remote consultation needs the patient's informed consent (远程医疗服务管理规范): the asker
   * attests it was obtained; the attestation is kept on the case and in the audit trail.
   */
  patientConsented: z.literal(true),
}).strict();

/** `POST /v1/consultations/{id}/opinion`: the consultant's answer. */
export const consultationOpinionRequest = z.object({
  impression: text(2000),
  recommendation: consultationRecommendation,
  urgency: consultationUrgency,
  text: z.string().trim().max(8000).optional(),
}).strict();

export const consultationOpinion = consultationOpinionRequest.extend({
  /** The authenticated consultant, never a name the client sends. */
  answeredBy: z.string(),
  answeredAt: z.string(),
});

export const consultation = z.object({
  id: z.string(),
  fromSiteId: siteId,
  toSiteId: siteId,
  origin: consultationOrigin,
  /** The asking user, or the policy that routed the case (`policy:<site>`). */
  askedBy: z.string(),
  askedAt: z.string(),
  subject: consultationSubject,
  question: z.string(),
  urgency: consultationUrgency,
  status: consultationStatus,
  /** The study's (or assessment's) triage level when known: the queue's first ordering. */
  triageLevel: triageLevel.optional(),
  /** The SLA clock: due time from urgency and the answering site's policy. */
  sla: z.object({ targetMinutes: z.number(), dueAt: z.string(), breached: z.boolean() }),
  /** Who opened it first at the answering site, and when (the case is then `in-review`). */
  openedBy: z.string().optional(),
  openedAt: z.string().optional(),
  opinion: consultationOpinion.optional(),
  /** Who on the asking side withdrew the case, and when. */
  withdrawnBy: z.string().optional(),
  withdrawnAt: z.string().optional(),
  /** A home-vital-signs case: the patient's key, for `GET /v1/patients/{patientKey}/vitals` and the trend screen. */
  patientKey: patientKey.optional(),
  aiAssisted: z.string(),
}).meta({ id: 'Consultation' });

/** `GET /v1/consultations`: `queue` is what the caller's sites are asked; `asked`, what they asked. */
export const consultationListQuery = z.object({
  box: z.enum(['queue', 'asked']).default('queue'),
  /** Comma-separated statuses (`open,in-review`), any of; absent: every status. */
  status: z.string().optional()
    .transform((s) => s?.split(',').map((v) => v.trim()).filter(Boolean))
    .transform((list) => (list?.length ? list : undefined))
    .pipe(z.array(consultationStatus).max(CONSULTATION_STATUSES.length).optional()),
  siteId: siteId.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
}).strict();

export const consultationList = z.object({ items: z.array(consultation) }).meta({ id: 'ConsultationList' });

/** A site's consultation policy (`PUT /v1/sites/{siteId}/consultation-policy`, admins). */
export const consultationPolicy = z.object({
  /** Where routed cases of this site go: a site that reads for it. Without one, nothing is routed. */
  routeToSiteId: siteId.optional(),
  /** Open a case when the reader overrides an AI finding. */
  routeOnDisagreement: z.boolean().default(false),
  /** Open a case when an AI finding is in the refer band or not applicable. */
  routeOnLowConfidence: z.boolean().default(false),
  /** Minutes to answer, per urgency, for cases this site answers. */
  slaMinutes: z.object({ emergency: z.number().int().min(5).max(10_080), urgent: z.number().int().min(5).max(10_080), routine: z.number().int().min(5).max(43_200) })
    .default(DEFAULT_CONSULTATION_SLA_MINUTES),
}).strict().meta({ id: 'ConsultationPolicy' });

/** What happened to a case, announced after it commits. */
export const CONSULTATION_CHANGES = ['asked', 'opened', 'answered', 'withdrawn'] as const;

/**
 * `GET /v1/events`: a `consultation` event (data this shape) when a case of the caller's scope
 * (its asking or answering site) changes. No clinical content: a client re-fetches the case.
 */
export const consultationEvent = z.object({
  type: z.literal('consultation'),
  id: z.string(),
  change: z.enum(CONSULTATION_CHANGES),
}).meta({ id: 'ConsultationEvent' });

/** A change as announced between API processes (Redis): the event and the two sites that decide who hears it. */
export const consultationChange = consultationEvent.extend({ fromSiteId: siteId, toSiteId: siteId });

/** `GET /v1/consultations/{id}/report?lang=`: the printable report's language. */
export const consultationReportQuery = z.object({ lang: z.enum(['en', 'zh']).default('en') }).strict();

export type ConsultationUrgency = z.infer<typeof consultationUrgency>;
export type ConsultationStatus = z.infer<typeof consultationStatus>;
export type ConsultationRecommendation = z.infer<typeof consultationRecommendation>;
export type ConsultationOrigin = z.infer<typeof consultationOrigin>;
export type ConsultationSubject = z.infer<typeof consultationSubject>;
export type ConsultationRequest = z.infer<typeof consultationRequest>;
export type ConsultationOpinionRequest = z.infer<typeof consultationOpinionRequest>;
export type Consultation = z.infer<typeof consultation>;
export type ConsultationListQuery = z.infer<typeof consultationListQuery>;
export type ConsultationPolicy = z.infer<typeof consultationPolicy>;
export type ConsultationEvent = z.infer<typeof consultationEvent>;
export type ConsultationChange = z.infer<typeof consultationChange>;
