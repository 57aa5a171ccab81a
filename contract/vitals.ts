import { z } from 'zod';
import { applicabilityNote } from './findings.ts';
import { siteId } from './sites.ts';

/**
 * Home and wearable vital signs (issue 14): observations per patient as a time series, NEWS2
 * evaluated over time, and the escalation alerts it raises. The parameters are the NEWS2
 * card's feature names (models/news2/model.json), in the units that card declares; the card
 * converts and range-checks each value (inference/features.ts), as it does for the hints form.
 *
 * A patient is (site, Patient ID); in URLs it is the patient key — the FHIR Patient id, 40 hex
 * of SHA-256 of `site|Patient ID` (store/fhir-reads.ts) — never the Patient ID itself.
 */

/** The NEWS2 parameters Lantern takes as observations (SpO2 scale 2 is a prescription, not a reading: not taken). */
export const VITAL_PARAMETERS = ['respiratoryRate', 'spo2', 'supplementalOxygen', 'systolicBp', 'pulse', 'consciousness', 'temperature'] as const;
export const vitalParameter = z.enum(VITAL_PARAMETERS);
export type VitalParameter = z.infer<typeof vitalParameter>;

/**
 * Most readings one request may carry. The body's member limit (api/body-limit.ts
 * MAX_JSON_MEMBERS, 10,000 commas and colons) counts about 8 per JSON reading, so 1,000 readings
 * stay under it and this bound is what a client meets: about 12 hours of a wearable's 5-minute
 * readings of every parameter. A FHIR Observation costs ~35, so a Bundle meets the member limit
 * (413) at about 280 Observations first.
 */
export const MAX_VITAL_OBSERVATIONS = 1000;

/** A patient's key in URLs: the FHIR Patient id. */
export const patientKey = z.string().regex(/^[0-9a-f]{40}$/, '40 lower-case hex digits (the FHIR Patient id)');

/** A Patient ID as the site issues it (DICOM LO: at most 64 characters): in bodies only. */
const patientId = z.string().trim().min(1).max(64);
const deviceId = z.string().trim().min(1).max(128);

/** One reading in `POST /v1/vitals`: numbers with their unit, consciousness as ACVPU, oxygen as true/false. */
export const vitalObservationInput = z.object({
  parameter: vitalParameter,
  value: z.union([z.number(), z.string().max(32), z.boolean()]),
  /** The unit of a number, one the NEWS2 card accepts for the parameter (e.g. `°F`, `kPa`). */
  unit: z.string().max(16).optional(),
  /** When it was measured (ISO 8601 with a zone). */
  at: z.iso.datetime({ offset: true }),
}).strict();

export const vitalsRequest = z.object({
  patientId,
  /** Default: the caller's first site. */
  siteId: siteId.optional(),
  deviceId: deviceId.optional(),
  observations: z.array(vitalObservationInput).min(1).max(MAX_VITAL_OBSERVATIONS),
}).strict().meta({ id: 'VitalsRequest' });
export type VitalsRequest = z.infer<typeof vitalsRequest>;

export const escalationLevel = z.enum(['urgent', 'emergency']);
export type EscalationLevel = z.infer<typeof escalationLevel>;

/** Why an escalation: RCP NEWS2 thresholds (aggregate 5 urgent, 7 emergency) and the red score (one parameter scoring 3). */
export const escalationReason = z.object({
  code: z.enum(['aggregate-5', 'aggregate-7', 'single-parameter-3']),
  text: z.string(),
  textZh: z.string(),
});
export type EscalationReason = z.infer<typeof escalationReason>;

export const vitalsAnswer = z.object({
  patientKey,
  siteId,
  received: z.number().int(),
  stored: z.number().int(),
  /** Already held (same device, parameter and time): ignored. */
  duplicates: z.number().int(),
  /** NEWS2 points evaluated or re-evaluated by this request. */
  evaluated: z.number().int(),
  alertsRaised: z.number().int(),
  /** Studies of the patient whose triage took the new NEWS2. */
  studiesRetriaged: z.array(z.string()),
}).meta({ id: 'VitalsAnswer' });
export type VitalsAnswer = z.infer<typeof vitalsAnswer>;

export const storedObservation = z.object({
  parameter: vitalParameter,
  /** In the card's canonical unit: a number, an ACVPU level, or true/false for oxygen. */
  value: z.union([z.number(), z.string(), z.boolean()]),
  unit: z.string().optional(),
  original: z.object({ value: z.string(), unit: z.string().optional() }),
  at: z.string(),
  deviceId: z.string(),
  source: z.enum(['fhir', 'json']),
});
export type StoredObservation = z.infer<typeof storedObservation>;

/** One NEWS2 evaluation: each parameter's value, and whether it was carried forward (from when). */
export const news2Point = z.object({
  at: z.string(),
  score: z.number(),
  band: z.string(),
  escalation: escalationLevel.nullable(),
  reasons: z.array(escalationReason),
  /** Parameter → points. */
  points: z.record(z.string(), z.number()),
  /** Parameter → the value used, measured at `from`; `carried` when `from` is before `at`. */
  inputs: z.record(z.string(), z.object({ value: z.union([z.number(), z.string(), z.boolean()]), from: z.string(), carried: z.boolean() })),
});
export type News2Point = z.infer<typeof news2Point>;

export const vitalAlert = z.object({
  id: z.number().int(),
  siteId,
  patientKey,
  /** For the clinicians of the patient's site, who see the patient anyway. */
  patientId: z.string(),
  patientName: z.string().optional(),
  level: escalationLevel,
  score: z.number(),
  band: z.string(),
  reasons: z.array(escalationReason),
  /** The NEWS2 points that led to it (the last hours before `at`). */
  trend: z.array(z.object({ at: z.string(), score: z.number() })),
  at: z.string(),
  status: z.enum(['open', 'acknowledged']),
  acknowledgedBy: z.string().optional(),
  acknowledgedAt: z.string().optional(),
  aiAssisted: z.string(),
}).meta({ id: 'VitalAlert' });
export type VitalAlert = z.infer<typeof vitalAlert>;

export const vitalAlertQuery = z.object({ status: z.enum(['open', 'acknowledged']).optional() }).strict();
export const vitalAlertList = z.object({ items: z.array(vitalAlert) }).meta({ id: 'VitalAlertList' });
export const vitalAlertParams = z.object({ id: z.coerce.number().int().positive() });

export const patientVitalsParams = z.object({ patientKey });

/** `GET /v1/studies/{studyInstanceUid}/home-vitals`: the study's patient's key, and whether home readings exist (the study view's link to the trend). */
/** A study's patient and whether they have home readings; no key for a study without a Patient ID. */
export const studyHomeVitals = z.object({ patientKey: patientKey.optional(), hasVitals: z.boolean() }).meta({ id: 'StudyHomeVitals' });
export type StudyHomeVitals = z.infer<typeof studyHomeVitals>;
export const patientVitalsQuery = z.object({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
}).strict();

/** A NEWS2 parameter's scoring rows, for drawing the bands: `upTo` inclusive, the last row open; or a coded one's points per value. */
export const parameterBands = z.object({
  parameter: z.string(),
  display: z.string(),
  displayZh: z.string().optional(),
  unit: z.string().optional(),
  /** Numeric parameters: rows in ascending order. */
  bands: z.array(z.object({ upTo: z.number().optional(), points: z.number() })),
  /** Coded parameters (ACVPU, oxygen as "true"/"false"): points per value. */
  categories: z.record(z.string(), z.number()).optional(),
});

export const patientVitals = z.object({
  patientKey,
  siteId,
  observations: z.array(storedObservation),
  news2: z.array(news2Point),
  alerts: z.array(vitalAlert),
  /** How long each parameter is carried forward, minutes. */
  carryForwardMinutes: z.record(z.string(), z.number()),
  /** The NEWS2 card's scoring per parameter (SpO2 on Scale 1). */
  bands: z.array(parameterBands),
  thresholds: z.object({ urgent: z.number(), emergency: z.number() }),
  /** What the NEWS2 card's population gate could not check for home readings: `AGE_NOT_RECORDED` (no birth date comes with them). */
  caveats: z.array(applicabilityNote),
  aiAssisted: z.string(),
}).meta({ id: 'PatientVitals' });
export type PatientVitals = z.infer<typeof patientVitals>;
