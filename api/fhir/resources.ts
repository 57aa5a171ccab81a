/**
 * Lantern's records as FHIR R4 resources: pure functions from what the store answers to
 * the JSON a FHIR client reads. Past 300 lines because the nine resource types share the
 * codings, references and AI-assisted labelling declared at the top; one file keeps each
 * resource's mapping next to the vocabulary it uses.
 *
 * AI output carries its provenance the FHIR way: each Observation names its model as a
 * `Device` (id, version, weights SHA-256), is `derivedFrom` the ImagingStudy, and is tagged
 * AI-assisted in `meta.tag` and in a note. A clinician's decision on a finding is its own
 * Observation (performer the clinician, derivedFrom the AI's), as is a finding a clinician
 * added that the AI missed, and the report's status
 * follows the decisions: preliminary until every claim is decided, then final (amended once
 * a decision was amended).
 */
import { findingCoding } from '../../contract/finding-codes.ts';
import { READER_FINDING_LABELS, REVIEW_REASONS } from '../../contract/reading.ts';
import type { LoadedModel } from '../../inference/registry.ts';
import type { AuditRecord } from '../../store/audit.ts';
import type { ImagingInstance, ImagingSeries, PatientRecord } from '../../store/fhir-reads.ts';
import { AI_ASSISTED_NOTICE, type Finding, type ReaderFindingRecord, type Review, type StudyDetail } from '../../store/types.ts';
import type { Resource } from './http.ts';

/** The AI-assisted label every resource made by a model carries (`meta.tag`). */
export const AI_ASSISTED_TAG = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'AIAST', display: 'Artificial Intelligence asserted' };
const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const DICOM_UID = 'urn:dicom:uid';
const INTERPRETATION = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';
const UCUM = 'http://unitsofmeasure.org';
const aiMeta = { tag: [AI_ASSISTED_TAG] };
const aiNote = { text: AI_ASSISTED_NOTICE };

/** The three DICOMweb services Lantern offers at `/dicomweb`, each a FHIR Endpoint (connectionType is one coding). */
export const DICOMWEB_ENDPOINTS = [
  { id: 'dicomweb-wado-rs', code: 'dicom-wado-rs', display: 'DICOM WADO-RS', name: 'Lantern DICOMweb retrieve (WADO-RS)', mime: ['application/dicom', 'application/dicom+json', 'application/octet-stream'] },
  { id: 'dicomweb-qido-rs', code: 'dicom-qido-rs', display: 'DICOM QIDO-RS', name: 'Lantern DICOMweb query (QIDO-RS)', mime: ['application/dicom+json'] },
  { id: 'dicomweb-stow-rs', code: 'dicom-stow-rs', display: 'DICOM STOW-RS', name: 'Lantern DICOMweb store (STOW-RS)', mime: ['application/dicom'] },
] as const;

const endpointRefs = DICOMWEB_ENDPOINTS.map((e) => ({ reference: `Endpoint/${e.id}` }));

export function endpoint(e: (typeof DICOMWEB_ENDPOINTS)[number], dicomwebUrl: string): Resource {
  return {
    resourceType: 'Endpoint',
    id: e.id,
    status: 'active',
    connectionType: { system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type', code: e.code, display: e.display },
    name: e.name,
    payloadType: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/endpoint-payload-type', code: 'any', display: 'Any' }], text: 'DICOM' }],
    payloadMimeType: [...e.mime],
    address: dicomwebUrl,
    header: ['Authorization: Bearer <token of a Lantern user with a clinical role>'],
  };
}

/** A DICOM UID as FHIR writes it in an Identifier or Coding. */
const oid = (uid: string) => `urn:oid:${uid}`;

/** `YYYYMMDD` → `YYYY-MM-DD`; anything else is not a date FHIR can carry. */
function dicomDate(value: string | undefined): string | undefined {
  const m = value && /^(\d{4})(\d{2})(\d{2})$/.exec(value.trim());
  return m ? `${m[1]}-${m[2]}-${m[3]}` : undefined;
}

const GENDER: Record<string, string> = { M: 'male', F: 'female', O: 'other' };

/** A DICOM PN (`Family^Given^Middle^Prefix^Suffix`, groups `alphabetic=ideographic=phonetic`) as HumanNames, one per group given. */
function humanNames(pn: string | undefined) {
  if (!pn) return undefined;
  const names = pn.split('=').filter((group) => group.replace(/\^/g, '').trim()).map((group) => {
    const [family, given, middle, prefix, suffix] = group.split('^').map((part) => part.trim());
    const givens = [given, middle].filter(Boolean);
    return {
      text: [prefix, ...givens, family, suffix].filter(Boolean).join(' '),
      ...(family && { family }),
      ...(givens.length && { given: givens }),
      ...(prefix && { prefix: [prefix] }),
      ...(suffix && { suffix: [suffix] }),
    };
  });
  return names.length ? names : undefined;
}

/** The system of a site's Patient IDs: nothing tells which authority issued them, so they are scoped by the site. */
export const patientIdSystem = (siteId: string) => `urn:lantern:site:${siteId}:patient-id`;

export function patient(p: PatientRecord): Resource {
  return {
    resourceType: 'Patient',
    id: p.fhirId,
    identifier: [{
      use: 'usual',
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR', display: 'Medical record number' }] },
      system: patientIdSystem(p.siteId),
      value: p.patientId,
    }],
    ...(humanNames(p.patientName) && { name: humanNames(p.patientName) }),
    gender: GENDER[p.patientSex?.trim().toUpperCase() ?? ''] ?? 'unknown',
    managingOrganization: { identifier: { system: 'urn:lantern:site', value: p.siteId } },
  };
}

/** The study's patient: a reference when it carries a Patient ID, else what is known. */
function subject(study: StudyDetail['study'], patientFhirId: string | undefined) {
  return patientFhirId ? { reference: `Patient/${patientFhirId}` } : { display: 'patient without a Patient ID in the study' };
}

const modalityCoding = (modality: string | undefined) => ({ system: DCM, code: modality || 'OT' });

export function imagingStudy(detail: StudyDetail, patientFhirId: string | undefined, parts: { series: ImagingSeries[]; instances: ImagingInstance[] }): Resource {
  const { study } = detail;
  const modalities = [...new Set(parts.series.map((s) => s.modality).filter((m): m is string => Boolean(m)))];
  const total = parts.series.reduce((sum, s) => sum + s.instances, 0);
  return {
    resourceType: 'ImagingStudy',
    id: study.studyInstanceUid,
    identifier: [
      { system: DICOM_UID, value: oid(study.studyInstanceUid) },
      ...(study.accessionNumber ? [{ type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'ACSN' }] }, value: study.accessionNumber }] : []),
    ],
    status: 'available',
    ...(modalities.length && { modality: modalities.map(modalityCoding) }),
    subject: subject(study, patientFhirId),
    ...(dicomDate(study.studyDate) && { started: dicomDate(study.studyDate) }),
    endpoint: endpointRefs,
    numberOfSeries: parts.series.length,
    numberOfInstances: total,
    ...(study.studyDescription && { description: study.studyDescription }),
    ...(parts.instances.length < total && { note: [{ text: `${parts.instances.length} of ${total} instances are listed; QIDO-RS (Endpoint dicomweb-qido-rs) lists every one` }] }),
    series: parts.series.map((s) => {
      const instances = parts.instances.filter((i) => i.seriesInstanceUid === s.seriesInstanceUid);
      return {
        uid: s.seriesInstanceUid,
        ...(s.seriesNumber !== undefined && { number: s.seriesNumber }),
        modality: modalityCoding(s.modality),
        numberOfInstances: s.instances,
        endpoint: endpointRefs,
        ...(s.bodyPart && { bodySite: { system: DCM, code: s.bodyPart, display: s.bodyPart } }),
        ...(instances.length && {
          instance: instances.map((i) => ({
            uid: i.sopInstanceUid,
            sopClass: { system: 'urn:ietf:rfc:3986', code: oid(i.sopClassUid) },
            ...(i.instanceNumber !== undefined && { number: i.instanceNumber }),
          })),
        }),
      };
    }),
  };
}

/** A model's Device id: `<model id>-<version>` (both already within FHIR's id characters). */
export const deviceId = (model: { id: string; version: string }) => `${model.id}-${model.version}`;

/** The model as the Device that made an output: name, version, and the SHA-256 of what it computes with. */
export function device(model: { id: string; version: string; sha256: string; title?: string; task?: string; intendedUse?: string }, status = 'active'): Resource {
  return {
    resourceType: 'Device',
    id: deviceId(model),
    meta: aiMeta,
    identifier: [
      { system: 'urn:lantern:model', value: `${model.id}@${model.version}` },
      { type: { text: 'SHA-256 of the model weights (of the card, for a declarative model)' }, system: 'urn:lantern:model-sha256', value: model.sha256 },
    ],
    status,
    manufacturer: 'Lantern',
    deviceName: [
      ...(model.title ? [{ name: model.title, type: 'user-friendly-name' }] : []),
      { name: model.id, type: 'model-name' },
    ],
    modelNumber: model.id,
    type: { text: `AI model (software)${model.task ? `: ${model.task}` : ''}` },
    version: [{ type: { text: 'model version' }, value: model.version }, { type: { text: 'weights SHA-256' }, value: model.sha256 }],
    note: [aiNote, ...(model.intendedUse ? [{ text: `Intended use: ${model.intendedUse}` }] : [])],
  };
}

/** A loaded model as its Device: active when it is the version clinicians are shown (registry.shown), else inactive (an older version, or a shadow one beside it). */
export const deviceOfModel = (model: LoadedModel, shown: boolean) =>
  device({ id: model.card.id, version: model.card.version, sha256: model.sha256, title: model.card.title, task: model.card.task, intendedUse: model.card.intendedUse }, shown ? 'active' : 'inactive');

/** How an output names its model: a reference when the model is loaded here, else the Device contained in it. */
export type DeviceLink = (model: { id: string; version: string; sha256: string }) => { reference: string; display?: string; contained?: Resource };

/** The FHIR id of a decision's Observation. */
export const reviewObservationId = (review: Pick<Review, 'id'>) => `review-${review.id}`;

/** Whether a finding makes a claim a clinician decides on ("not applicable" makes none). */
const claims = (f: Finding) => f.probability !== null;

function interpretation(f: Finding) {
  const [code, display] = f.refer ? ['IND', 'Indeterminate'] : f.positive ? ['POS', 'Positive'] : ['NEG', 'Negative'];
  return [{ coding: [{ system: INTERPRETATION, code, display }], text: f.refer ? 'inside the model\'s refer band: a human read decides' : display }];
}

/** The AI's finding as an Observation: preliminary until a clinician decided, final after, amended once a decision was amended. */
export function findingObservation(f: Finding, patientFhirId: string | undefined, study: StudyDetail['study'], link: DeviceLink): Resource {
  const coding = findingCoding(f.label, f.display);
  const reviews = f.reviews ?? (f.review ? [f.review] : []);
  const status = !claims(f) ? 'final' : reviews.length === 0 ? 'preliminary' : reviews.some((r) => r.amends) ? 'amended' : 'final';
  const { contained, ...deviceRef } = link({ id: f.model.id, version: f.model.version, sha256: f.model.weightsSha256 });
  return {
    resourceType: 'Observation',
    id: f.id,
    meta: aiMeta,
    ...(contained && { contained: [contained] }),
    identifier: [{ system: 'urn:lantern:finding', value: f.id }],
    status,
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'imaging', display: 'Imaging' }] }],
    code: { coding: [{ system: coding.system, code: coding.code, display: coding.display }], text: f.display },
    subject: subject(study, patientFhirId),
    ...(dicomDate(study.studyDate) && { effectiveDateTime: dicomDate(study.studyDate) }),
    issued: f.createdAt,
    ...(claims(f)
      ? {
        valueQuantity: { value: f.probability, unit: 'probability', system: UCUM, code: '1' },
        interpretation: interpretation(f),
        referenceRange: [{ high: { value: f.operatingPoint.threshold, system: UCUM, code: '1' }, text: `operating point "${f.operatingPoint.name}": positive at or above ${f.operatingPoint.threshold}` }],
      }
      : {
        dataAbsentReason: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/data-absent-reason', code: 'not-applicable', display: 'Not Applicable' }], text: f.applicability?.reason?.text ?? 'the model does not apply to this image' },
      }),
    method: { coding: [{ system: 'urn:lantern:model', code: `${f.model.id}@${f.model.version}` }], text: `${f.model.id} ${f.model.version}, preprocessing ${f.model.preprocessing}` },
    device: deviceRef,
    derivedFrom: [{ reference: `ImagingStudy/${f.studyInstanceUid}`, identifier: { system: DICOM_UID, value: oid(f.studyInstanceUid) } }],
    note: [aiNote, { text: `Image: SOP Instance UID ${f.sopInstanceUid}` }],
  };
}

const reasonDisplay = (code: string | undefined) => REVIEW_REASONS.find((r) => r.code === code)?.display;

/** A clinician's decision on a finding: accepted or overridden (with its coded reason), derived from the AI's Observation (and the decision it amends). */
export function decisionObservation(r: Review, f: Finding, patientFhirId: string | undefined, study: StudyDetail['study']): Resource {
  const accepted = r.decision === 'accept';
  return {
    resourceType: 'Observation',
    id: reviewObservationId(r),
    identifier: [{ system: 'urn:lantern:review', value: r.id }],
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'imaging', display: 'Imaging' }] }],
    code: { coding: [{ system: 'urn:lantern:observation', code: 'ai-finding-decision', display: 'Clinician\'s decision on an AI finding' }], text: `Decision on the AI finding "${f.display}"` },
    subject: subject(study, patientFhirId),
    issued: r.createdAt,
    performer: [{ identifier: { system: 'urn:lantern:user', value: r.reviewer }, display: r.reviewer }],
    valueCodeableConcept: {
      coding: [
        { system: 'urn:lantern:decision', code: r.decision, display: accepted ? 'Accepted' : 'Overridden' },
        ...(r.reasonCode ? [{ system: 'urn:lantern:review-reason', code: r.reasonCode, ...(reasonDisplay(r.reasonCode) && { display: reasonDisplay(r.reasonCode) }) }] : []),
      ],
      text: accepted ? 'Accepted' : `Overridden: ${reasonDisplay(r.reasonCode) ?? r.reasonCode}`,
    },
    derivedFrom: [{ reference: `Observation/${f.id}` }, ...(r.amends ? [{ reference: `Observation/review-${r.amends}` }] : [])],
    ...(r.comment && { note: [{ text: r.comment }] }),
  };
}

export const readerFindingObservationId = (r: Pick<ReaderFindingRecord, 'id'>) => `reader-finding-${r.id}`;

/** A finding a clinician added that the AI did not report: present, made by that clinician. */
const readerLabel = (label: string) => READER_FINDING_LABELS.find((l) => l.code === label)?.display ?? label;

export function readerFindingObservation(r: ReaderFindingRecord, patientFhirId: string | undefined, study: StudyDetail['study']): Resource {
  const display = readerLabel(r.label);
  const coding = findingCoding(r.label, display);
  return {
    resourceType: 'Observation',
    id: readerFindingObservationId(r),
    identifier: [{ system: 'urn:lantern:reader-finding', value: r.id }],
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'imaging', display: 'Imaging' }] }],
    code: { coding: [{ system: coding.system, code: coding.code, display: coding.display }], text: display },
    subject: subject(study, patientFhirId),
    issued: r.createdAt,
    performer: [{ identifier: { system: 'urn:lantern:user', value: r.reviewer }, display: r.reviewer }],
    interpretation: [{ coding: [{ system: INTERPRETATION, code: 'POS', display: 'Positive' }], text: 'present: added by a clinician, not reported by the AI' }],
    method: { text: 'added by the reading clinician (a finding the AI did not report)' },
    derivedFrom: [{ reference: `ImagingStudy/${r.studyInstanceUid}` }],
    note: [
      ...(r.sopInstanceUid ? [{ text: `Image: SOP Instance UID ${r.sopInstanceUid}${r.region ? `, region ${JSON.stringify(r.region)}` : ''}` }] : []),
      ...(r.comment ? [{ text: r.comment }] : []),
    ],
  };
}

/**
 * The study's AI analysis as one report: partial while an image still waits for a model,
 * preliminary until every claim is decided, then final (amended once any decision was amended).
 */
export function diagnosticReport(detail: StudyDetail, patientFhirId: string | undefined): Resource {
  const { study, findings } = detail;
  const claimsMade = findings.filter(claims);
  const undecided = claimsMade.filter((f) => !f.review);
  const status = study.status === 'pending' ? 'partial' : undecided.length ? 'preliminary' : detail.reviews.some((r) => r.amends) ? 'amended' : 'final';
  const issued = [...findings.map((f) => f.createdAt), ...detail.reviews.map((r) => r.createdAt)].sort().at(-1);
  return {
    resourceType: 'DiagnosticReport',
    id: study.studyInstanceUid,
    meta: aiMeta,
    status,
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'RAD', display: 'Radiology' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '18748-4', display: 'Diagnostic imaging study' }], text: 'AI-assisted analysis of the imaging study' },
    subject: subject(study, patientFhirId),
    ...(dicomDate(study.studyDate) && { effectiveDateTime: dicomDate(study.studyDate) }),
    ...(issued && { issued }),
    imagingStudy: [{ reference: `ImagingStudy/${study.studyInstanceUid}` }],
    result: [
      ...findings.map((f) => ({ reference: `Observation/${f.id}`, display: f.display })),
      ...detail.reviews.map((r) => ({ reference: `Observation/${reviewObservationId(r)}` })),
      ...detail.readerFindings.map((r) => ({ reference: `Observation/${readerFindingObservationId(r)}` })),
    ],
    conclusion: [...findings.map(conclusionOf), ...detail.readerFindings.map((r) => `${readerLabel(r.label)}: added by ${r.reviewer} (not reported by the AI).`), AI_ASSISTED_NOTICE].join(' '),
    ...(claimsMade.some((f) => f.positive) && {
      conclusionCode: claimsMade.filter((f) => f.positive).map((f) => {
        const coding = findingCoding(f.label, f.display);
        return { coding: [{ system: coding.system, code: coding.code, display: coding.display }], text: `${f.display} (AI-assisted${f.review ? `, ${f.review.decision === 'accept' ? 'accepted' : 'overridden'} by a clinician` : ', not yet decided'})` };
      }),
    }),
  };
}

function conclusionOf(f: Finding): string {
  if (!claims(f)) return `${f.display}: not applicable (${f.applicability?.reason?.text ?? 'outside the model\'s population'}).`;
  const call = f.refer ? 'indeterminate (refer band)' : f.positive ? 'positive' : 'negative';
  const decided = f.review ? `; ${f.review.decision === 'accept' ? 'accepted' : `overridden (${f.review.reasonCode})`} by ${f.review.reviewer}` : '; awaiting a clinician';
  return `${f.display}: ${call}, probability ${f.probability!.toFixed(3)} (${f.model.id} ${f.model.version})${decided}.`;
}

/** A calculation's audit record payload (api/routes/risk.ts). */
interface CalculationPayload {
  kind: string;
  model: { id: string; version: string; sha256: string; title?: string };
  inputs: Record<string, { value: number | boolean | string; unit?: string }>;
  result: { risk?: number; score?: number; band?: string; warnings?: string[] };
}

export const riskAssessmentId = (record: Pick<AuditRecord, 'seq'>) => `calculation-${record.seq}`;

/**
 * A risk or score calculation as a RiskAssessment: the model as method and performer
 * (Device), each input as a contained Observation in `basis`, the risk as
 * probabilityDecimal and the band as qualitativeRisk. The form carries no patient, so the
 * subject says so rather than naming one.
 */
export function riskAssessment(record: AuditRecord, link: DeviceLink, outcome: string | undefined): Resource {
  const { model, inputs, result } = record.payload as unknown as CalculationPayload;
  const { contained: containedDevice, ...performer } = link(model);
  const basis = Object.entries(inputs ?? {}).map(([name, input], index) => ({
    resourceType: 'Observation',
    id: `input-${index + 1}`,
    status: 'final',
    code: { coding: [{ system: `urn:lantern:model-input:${model.id}`, code: name }], text: name },
    ...(typeof input.value === 'number'
      ? { valueQuantity: { value: input.value, ...(input.unit && { unit: input.unit }) } }
      : typeof input.value === 'boolean' ? { valueBoolean: input.value } : { valueString: String(input.value) }),
  }));
  const warnings = result.warnings ?? [];
  return {
    resourceType: 'RiskAssessment',
    id: riskAssessmentId(record),
    meta: aiMeta,
    contained: [...(containedDevice ? [containedDevice] : []), ...basis],
    identifier: [{ system: 'urn:lantern:audit-seq', value: String(record.seq) }],
    status: 'final',
    method: { coding: [{ system: 'urn:lantern:model', code: `${model.id}@${model.version}`, ...(model.title && { display: model.title }) }], text: `${model.title ?? model.id} ${model.version}` },
    subject: { display: 'patient not identified: the calculation was asked without a patient identifier' },
    occurrenceDateTime: record.at,
    performer,
    ...(basis.length && { basis: basis.map((o) => ({ reference: `#${o.id}` })) }),
    prediction: [{
      ...(outcome && { outcome: { text: outcome } }),
      ...(result.risk !== undefined && { probabilityDecimal: result.risk }),
      ...(result.band && { qualitativeRisk: { coding: [{ system: `urn:lantern:risk-band:${model.id}`, code: result.band }], text: result.band } }),
      ...(result.score !== undefined && { rationale: `score ${result.score}` }),
    }],
    note: [aiNote, { text: `Requested by ${record.actor}` }, ...warnings.map((w) => ({ text: `Warning: ${w} (an input lies outside what the model was validated on)` }))],
  };
}

/** C(reate), R(ead), U(pdate), D(elete) or E(xecute), by the verb that ends Lantern's action name. */
function auditAction(action: string): string {
  const verb = action.split('.').at(-1) ?? '';
  if (/viewed|listed|read|exported/.test(verb)) return 'R';
  if (/created|received|stored|calculated|added|granted|started/.test(verb)) return 'C';
  if (/deleted|revoked|ended/.test(verb)) return 'D';
  if (/accept|override|updated|changed|reviewed|amended|recorded|decided/.test(verb)) return 'U';
  return 'E';
}

/** The DICOM audit event type (PS3.15 A.5) an action belongs to. */
function auditType(record: AuditRecord) {
  if (record.action.startsWith('session.')) return { system: DCM, code: '110114', display: 'User Authentication' };
  if (['study', 'list', 'finding', 'instance', 'patient', 'consent', 'reader-finding'].includes(record.entityType)) return { system: DCM, code: '110110', display: 'Patient Record' };
  return { system: DCM, code: '110100', display: 'Application Activity' };
}

/** A link of the hash-chained audit trail as an AuditEvent; its place in the chain (seq, hashes) and payload ride in the entity's details. */
export function auditEvent(record: AuditRecord): Resource {
  return {
    resourceType: 'AuditEvent',
    id: String(record.seq),
    type: auditType(record),
    subtype: [{ system: 'urn:lantern:audit-action', code: record.action }],
    action: auditAction(record.action),
    recorded: record.at,
    outcome: '0',
    agent: [{
      who: { identifier: { system: 'urn:lantern:actor', value: record.actor }, display: record.actor },
      name: record.actor,
      requestor: true,
    }],
    source: { site: 'Lantern', observer: { display: 'Lantern' }, type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }] },
    entity: [{
      what: {
        ...(record.entityType === 'study' && { reference: `ImagingStudy/${record.entityId}` }),
        identifier: { system: `urn:lantern:${record.entityType}`, value: record.entityId },
      },
      type: { system: 'urn:lantern:entity-type', code: record.entityType },
      detail: [
        { type: 'seq', valueString: String(record.seq) },
        { type: 'hash', valueString: record.hash },
        { type: 'prevHash', valueString: record.prevHash },
        { type: 'payload', valueString: JSON.stringify(record.payload) },
      ],
    }],
  };
}
