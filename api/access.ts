import { ROLES, type Role } from '../contract/identity.ts';

/**
 * Who may call what, by kind of route: the one table to read (and to change) when a role's
 * reach is questioned. Patient data (names, images, decisions) is for the clinical roles;
 * model teams see agreement statistics and de-identified studies, never a worklist; admins run the service and read
 * the audit trail, and hold a clinical role too when they need patient data.
 */
export const ACCESS = {
  /** Anyone signed in: vocabularies, model cards, their own session and tokens. */
  anyone: ROLES,
  /** Worklist, studies, frames, live study events. */
  patientData: ['radiologist', 'grassroots-doctor', 'consultant'],
  /** Decisions on AI findings and reader-added findings. */
  reading: ['radiologist', 'grassroots-doctor', 'consultant'],
  /** Sending images in (STOW-RS): clinics and devices (a device signs in with a token of a user holding this role). */
  ingest: ['radiologist', 'grassroots-doctor', 'consultant', 'admin'],
  /** A patient's consent decisions (AI processing, sharing): recorded and read by the clinicians of the patient's site. */
  consent: ['radiologist', 'grassroots-doctor', 'consultant'],
  /** Surveillance counts and alerts: aggregates per site and day, no patient identifier; acknowledged by clinicians and admins. */
  surveillance: ['radiologist', 'grassroots-doctor', 'consultant', 'admin'],
  /** Asking a site that reads for one's own, and answering as that site (remote consultation); the side is checked per case. */
  consult: ['radiologist', 'grassroots-doctor', 'consultant'],
  /** A site's consultation policy: read by its admins and clinicians (the site is checked per request), set by admins. */
  consultationPolicy: ['admin', 'radiologist', 'grassroots-doctor', 'consultant'],
  /** Risks, scores and triage for a patient. */
  calculate: ['radiologist', 'grassroots-doctor', 'consultant'],
  /**
   * Studies de-identified (PS3.15 Basic Profile, pseudonyms, shifted dates) for building and
   * checking models. A model-team user who needs identified data is granted a clinical role (PATCH /v1/users/{username}).
   */
  research: ['model-team'],
  /** How readers received each model (no patient data). */
  modelQuality: ['model-team', 'radiologist', 'admin'],
  /** Operational metrics for a Prometheus scraper (GET /metrics): counts and timings, no patient data; read with a token of such an account. */
  metrics: ['admin', 'model-team'],
  /** Drift of each model's inputs and outputs over time, its alerts and their acknowledgement (aggregates, no patient data). */
  modelDrift: ['model-team', 'admin'],
  /** Accounts and the audit trail. */
  admin: ['admin'],
  /** Another Lantern's signed audit heads held here as its witness: handed in by that Lantern's account, read by it or an auditor. */
  auditWitness: ['audit-witness', 'admin'],
} as const satisfies Record<string, readonly Role[]>;
