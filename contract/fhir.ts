import { z } from 'zod';

/**
 * What the FHIR R4 facade (`/fhir/...`) takes: logical ids and the search parameters it
 * supports, parsed as FHIR defines them (token `system|code`, reference `Type/id`). Unknown
 * parameters are refused (400 with an OperationOutcome) rather than ignored, so a client never
 * reads an unfiltered answer as a filtered one. The answers are FHIR resources, validated in
 * the tests against the HL7 R4 JSON schema and FHIR.js, not restated here.
 */

/** FHIR `id`: 1–64 of A–Z a–z 0–9 - . */
export const fhirId = z.string().regex(/^[A-Za-z0-9\-.]{1,64}$/, 'a FHIR id: 1–64 letters, digits, "-" or "."');

export const fhirReadParams = z.object({ id: fhirId });

/** Search results per page (`_count`) and how deep an offset may reach; each study matched is read whole, so a page stays small. */
export const FHIR_PAGE = { default: 20, max: 50, maxOffset: 10_000 } as const;

/** Every interaction accepts these: the format (checked against what Lantern writes: JSON only) and `_pretty`. */
const common = {
  _format: z.string().max(100).optional(),
  _pretty: z.enum(['true', 'false']).optional(),
};

const paging = {
  _count: z.coerce.number().int().min(1).max(FHIR_PAGE.max).default(FHIR_PAGE.default),
  _offset: z.coerce.number().int().min(0).max(FHIR_PAGE.maxOffset).default(0),
};

/** A token `[system]|[code]` or a bare code (any system). */
export const fhirToken = z.string().min(1).max(200).transform((token) => {
  const bar = token.indexOf('|');
  return bar < 0 ? { code: token } : { system: token.slice(0, bar), code: token.slice(bar + 1) };
});

/** A reference to a resource of `type`: `Type/id`, or the bare id; its id. */
const referenceTo = (type: string) => z.string().max(200).transform((value, ctx) => {
  const id = value.startsWith(`${type}/`) ? value.slice(type.length + 1) : value;
  if (!fhirId.safeParse(id).success) {
    ctx.addIssue({ code: 'custom', message: `a reference to a ${type}: ${type}/<id> or <id>` });
    return z.NEVER;
  }
  return id;
});

export const fhirReadQuery = z.object(common).strict();

export const patientSearch = z.object({ ...common, ...paging, _id: fhirId.optional(), identifier: fhirToken.optional() }).strict();

export const imagingStudySearch = z.object({
  ...common, ...paging,
  _id: fhirId.optional(),
  /** `urn:dicom:uid|urn:oid:<Study Instance UID>`, or an accession number (`…v2-0203|ACSN` system not required). */
  identifier: fhirToken.optional(),
  patient: referenceTo('Patient').optional(),
  subject: referenceTo('Patient').optional(),
}).strict();

export const diagnosticReportSearch = z.object({
  ...common, ...paging,
  _id: fhirId.optional(),
  patient: referenceTo('Patient').optional(),
  subject: referenceTo('Patient').optional(),
}).strict();

export const observationSearch = z.object({
  ...common, ...paging,
  patient: referenceTo('Patient').optional(),
  subject: referenceTo('Patient').optional(),
  /** The ImagingStudy the findings were made on. */
  'derived-from': referenceTo('ImagingStudy').optional(),
}).strict();

export const riskAssessmentSearch = z.object({ ...common, ...paging, _id: fhirId.optional() }).strict();

export const auditEventSearch = z.object({
  ...common,
  _count: paging._count,
  _id: fhirId.optional(),
  /** Lantern's action name, e.g. `study.viewed` (the AuditEvent's subtype code). */
  subtype: fhirToken.optional(),
  /** Paging cursor: records with a seq below this (the next link carries it). */
  before: z.coerce.number().int().min(1).optional(),
}).strict();

export type FhirToken = z.output<typeof fhirToken>;
