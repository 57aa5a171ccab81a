import { z } from 'zod';
import { siteId } from './sites.ts';

/**
 * Consent: per site, a policy for each purpose, and each patient's own decision. A recorded
 * decision wins; otherwise the site's policy: `opt-out` lets the purpose go ahead unless the
 * patient refused, `opt-in` only once the patient granted it. Defaults: AI processing is
 * opt-out, sharing outside the site opt-in. The store applies the rule (consent_withheld in
 * store/migrations/012_consent.sql) at the moment of use: ingest, findings arriving, export.
 */

export const CONSENT_PURPOSES = ['ai-processing', 'sharing'] as const;
export const consentPurpose = z.enum(CONSENT_PURPOSES).meta({ description: 'ai-processing: AI analysis of the images; sharing: any copy leaving the site (de-identified exports, research)' });
export const policyMode = z.enum(['opt-in', 'opt-out']);
export const consentDecision = z.enum(['granted', 'refused']);

/** Why a purpose is not allowed for a patient: the patient refused, or the site asks for consent and none is recorded. */
export const withheldCode = z.enum(['patient-refused', 'no-consent-recorded']);

/** A Patient ID as the site's images carry it (DICOM LO: at most 64 characters). Sent in bodies only: never in a URL a log could keep. */
const patientId = z.string().trim().min(1).max(64);

/** `POST /v1/consent`: a clinician records a patient's decision at one of its sites (default: its first). */
export const consentRecordRequest = z.object({
  siteId: siteId.optional(),
  patientId,
  purpose: consentPurpose,
  decision: consentDecision,
  /** Where the decision came from (a signed form, the HIS), for whoever reads the audit trail. */
  note: z.string().trim().max(500).optional(),
}).strict();

/** `POST /v1/consent/lookup`: a patient's consent at a site, asked with the ID in the body rather than the URL. */
export const consentLookupRequest = z.object({ siteId: siteId.optional(), patientId }).strict();

/** One purpose for one patient: whether it may go ahead, and on what basis. */
export const consentState = z.object({
  purpose: consentPurpose,
  allowed: z.boolean(),
  /** Absent when allowed. */
  withheld: withheldCode.optional(),
  /** The site's policy for the purpose (its default when none was set). */
  policy: policyMode,
  /** The patient's decision, if one is recorded. */
  decision: z.object({ decision: consentDecision, note: z.string().optional(), recordedBy: z.string(), recordedAt: z.string() }).optional(),
});

export const patientConsent = z.object({ siteId, purposes: z.array(consentState) }).meta({ id: 'PatientConsent' });

/** `POST /v1/sites/{siteId}/consent-policy` (admins). */
export const consentPolicyRequest = z.object({ purpose: consentPurpose, mode: policyMode }).strict();

export const consentPolicy = z.object({
  siteId,
  purposes: z.array(z.object({
    purpose: consentPurpose,
    mode: policyMode,
    /** Absent while the default applies. */
    updatedBy: z.string().optional(),
    updatedAt: z.string().optional(),
  })),
}).meta({ id: 'ConsentPolicy' });

/**
 * On a study some of whose images AI did not analyse because of consent: what the worklist
 * row and the study view show in place of findings, so that an empty findings list is never taken for a
 * normal result.
 */
export const aiWithheld = z.object({
  code: withheldCode,
  reason: z.string(),
  reasonZh: z.string(),
  /** How many of the study's images were not analysed. */
  instances: z.number().int().positive(),
});

const WITHHELD_TEXT: Record<WithheldCode, { reason: string; reasonZh: string }> = {
  'patient-refused': {
    reason: 'AI not run: the patient declined AI analysis. Read without AI.',
    reasonZh: '未使用 AI：患者拒绝 AI 分析。请人工阅片。',
  },
  'no-consent-recorded': {
    reason: 'AI not run: this site runs AI only with the patient\'s consent, and none is recorded. Read without AI.',
    reasonZh: '未使用 AI：本机构仅在患者同意后使用 AI，尚无同意记录。请人工阅片。',
  },
};

/** The notice for `instances` images withheld for `code`. */
export const aiWithheldNotice = (code: WithheldCode, instances: number): AiWithheld => ({ code, ...WITHHELD_TEXT[code], instances });

export type ConsentPurpose = z.infer<typeof consentPurpose>;
export type PolicyMode = z.infer<typeof policyMode>;
export type WithheldCode = z.infer<typeof withheldCode>;
export type ConsentRecordRequest = z.infer<typeof consentRecordRequest>;
export type ConsentLookupRequest = z.infer<typeof consentLookupRequest>;
export type ConsentState = z.infer<typeof consentState>;
export type PatientConsent = z.infer<typeof patientConsent>;
export type ConsentPolicy = z.infer<typeof consentPolicy>;
export type AiWithheld = z.infer<typeof aiWithheld>;
