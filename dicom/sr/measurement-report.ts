/**
 * One model's results on one image as a DICOM Comprehensive SR with a TID 1500 Measurement
 * Report (the shape IHE AI Results asks for), as a naturalised data set for dcmjs to write.
 *
 * dcmjs 0.51 has TID 1500 helpers (`dcmjs.sr.templates`), but they cannot write this:
 * its Measurement Group refuses every tracking identifier (it looks for CodedConcept items
 * where it made content items), the Image Library it writes is always empty, Algorithm
 * Identification attaches only to a TID 300 measurement, Qualitative Evaluations exclude
 * Imaging Measurements, its Device Observer Name/Manufacturer codes are off by one
 * (121013 is the name), Predecessor Documents crash (`previousVersions`), and Content
 * Date/Time are "now" (a re-run would write other bytes). So the tree is built here from
 * plain items, encoded by part10-writer.ts (dcmjs's bytes; dcmjs itself for what it does not model: dcmjs-io.ts).
 *
 * The tree, per PS3.16:
 *   CONTAINER Imaging Measurement Report (TID 1500)
 *   ├ Language; observer context: the model as a DEVICE (TID 1004), and for a decision the
 *   │ clinician as a PERSON (TID 1003); Procedure reported
 *   ├ Image Library (TID 1600): the source image
 *   ├ Imaging Measurements: one Measurement Group per finding (TID 1410 with the heatmap's
 *   │ hot region as a closed SCOORD POLYLINE SELECTED FROM the source image; TID 1501 without a heatmap):
 *   │ tracking identifier + UID, Finding (SNOMED CT), probability and operating point (NUM),
 *   │ Presence (coded) with the Algorithm Identification (TID 4019), the clinician's decision
 *   └ Qualitative Evaluations: the AI-assisted notice
 */
import type { FindingInput, ModelProvenance } from '../../contract/findings.ts';
import { CODES, findingCode, LOCAL_SCHEME, reasonCode, type Code } from './codes.ts';
import { heatmapHotRegion } from './heatmap-region.ts';

export const COMPREHENSIVE_SR = '1.2.840.10008.5.1.4.1.1.88.33';

export const AI_RESULTS_SERIES = { number: 7001, description: 'Lantern AI results (AI-assisted, not a diagnosis)' } as const;

const AI_NOTICE = 'AI-assisted result from Lantern: for a clinician to confirm or override; not a diagnosis.';

/** The analysed image's identity and size. */
export interface SourceIdentity {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  sopClassUid: string;
  modality?: string;
  rows?: number;
  columns?: number;
}

/** The analysed image: its identity, size and the patient/study attributes the SR copies. */
export interface SourceImage extends SourceIdentity {
  /** Patient and study module values by keyword, as the source has them (source-attributes.ts). */
  attributes: Record<string, unknown>;
}

export interface ClinicianDecision {
  decision: 'accept' | 'override';
  reason?: { code: string; display: string };
  comment?: string;
  /** The clinician's name as a Person Name (their display name; a login name with dots reads as the retired PN form). */
  reviewerName: string;
}

export interface AiResultsReport {
  sopInstanceUid: string;
  seriesInstanceUid: string;
  instanceNumber: number;
  /** When the content was made (the findings', or the decision's, time): ISO 8601. */
  contentTime: string;
  source: SourceImage;
  model: ModelProvenance;
  /** One model's findings on the source image; each group's tracking UID is derived from the finding's id. */
  findings: (FindingInput & { trackingUid: string })[];
  /** Decisions by finding id: present on a document that records a clinician's review. */
  decisions?: Map<string, ClinicianDecision>;
  /** The clinician who verifies this document (name and login), and whether every finding with a claim is decided. */
  verification?: { reviewerName: string; login: string; organization: string; complete: boolean };
  /** The document this one supersedes. */
  predecessor?: { sopInstanceUid: string; seriesInstanceUid: string };
  deviceObserverUid: string;
}

type Item = Record<string, unknown>;

export function measurementReport(report: AiResultsReport): Item & { SOPClassUID: string; SOPInstanceUID: string } {
  const document = documentOf(report);
  // UTF-8 (dcmjs writes text as UTF-8) only when some text needs it: plain ASCII is the default
  // repertoire, which every reader takes (dcmtk's checker, for one, does not know ISO_IR 192).
  return /[^\x00-\x7f]/.test(JSON.stringify(document)) ? { SpecificCharacterSet: 'ISO_IR 192', ...document } : document;
}

function documentOf(report: AiResultsReport): Item & { SOPClassUID: string; SOPInstanceUID: string } {
  const { date, time } = dicomDateTime(report.contentTime);
  const decided = report.decisions !== undefined;
  return {
    ...copiedSourceAttributes(report.source),
    SOPClassUID: COMPREHENSIVE_SR,
    SOPInstanceUID: report.sopInstanceUid,
    InstanceCreationDate: date,
    InstanceCreationTime: time,
    TimezoneOffsetFromUTC: '+0000',
    Modality: 'SR',
    SeriesInstanceUID: report.seriesInstanceUid,
    SeriesNumber: AI_RESULTS_SERIES.number,
    SeriesDescription: AI_RESULTS_SERIES.description,
    ReferencedPerformedProcedureStepSequence: [],
    Manufacturer: 'Lantern',
    ManufacturerModelName: 'Lantern read-assist',
    SoftwareVersions: `${report.model.id} ${report.model.version}`,
    InstanceNumber: report.instanceNumber,
    ContentDate: date,
    ContentTime: time,
    PreliminaryFlag: report.verification?.complete ? 'FINAL' : 'PRELIMINARY',
    CompletionFlag: report.verification?.complete ? 'COMPLETE' : 'PARTIAL',
    VerificationFlag: report.verification ? 'VERIFIED' : 'UNVERIFIED',
    ...(report.verification && {
      VerifyingObserverSequence: [{
        VerifyingObserverName: personName(report.verification.reviewerName),
        VerifyingOrganization: report.verification.organization,
        VerificationDateTime: `${date}${time}`,
        VerifyingObserverIdentificationCodeSequence: [],
      }],
    }),
    ...(report.predecessor && { PredecessorDocumentsSequence: [studyReference(report.source.studyInstanceUid, report.predecessor.seriesInstanceUid, COMPREHENSIVE_SR, report.predecessor.sopInstanceUid)] }),
    CurrentRequestedProcedureEvidenceSequence: [studyReference(report.source.studyInstanceUid, report.source.seriesInstanceUid, report.source.sopClassUid, report.source.sopInstanceUid)],
    PerformedProcedureCodeSequence: [],
    CodingSchemeIdentificationSequence: [{
      CodingSchemeDesignator: LOCAL_SCHEME.designator,
      CodingSchemeName: LOCAL_SCHEME.name,
      CodingSchemeResponsibleOrganization: LOCAL_SCHEME.responsibleOrganization,
    }],
    ValueType: 'CONTAINER',
    ConceptNameCodeSequence: [coded(CODES.imagingMeasurementReport)],
    ContinuityOfContent: 'SEPARATE',
    ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: '1500' }],
    ContentSequence: [
      codeItem('HAS CONCEPT MOD', CODES.language, CODES.englishUs),
      ...deviceObserver(report),
      ...(decided && report.verification ? personObserver(report.verification) : []),
      codeItem('HAS CONCEPT MOD', CODES.procedureReported, ['CR', 'DX'].includes(report.source.modality ?? '') ? CODES.radiographicImaging : CODES.imagingProcedure),
      container('CONTAINS', CODES.imageLibrary, [container('CONTAINS', CODES.imageLibraryGroup, [imageItem('CONTAINS', report.source)])]),
      container('CONTAINS', CODES.imagingMeasurements, report.findings.map((f) => measurementGroup(report, f))),
      container('CONTAINS', CODES.qualitativeEvaluations, [textItem('CONTAINS', CODES.comment, AI_NOTICE)]),
    ],
  };
}

/** One finding: TID 1410 when its heatmap gives a region on the image, TID 1501 otherwise. */
function measurementGroup(report: AiResultsReport, finding: AiResultsReport['findings'][number]): Item {
  const region = finding.heatmap && heatmapHotRegion(finding.heatmap, report.source);
  const decision = report.decisions?.get(finding.id);
  return container('CONTAINS', CODES.measurementGroup, [
    textItem('HAS OBS CONTEXT', CODES.trackingIdentifier, `${finding.label} by ${finding.model.id}@${finding.model.version}`.slice(0, 1024)),
    { RelationshipType: 'HAS OBS CONTEXT', ValueType: 'UIDREF', ConceptNameCodeSequence: [coded(CODES.trackingUid)], UID: finding.trackingUid },
    codeItem('CONTAINS', CODES.finding, findingCode(finding.label, finding.display)),
    ...(region ? [{
      RelationshipType: 'CONTAINS', ValueType: 'SCOORD', ConceptNameCodeSequence: [coded(CODES.imageRegion)],
      // A 2D SCOORD has no POLYGON (that is SCOORD3D's): a closed POLYLINE is the area (PS3.3 C.18.6.1.2).
      GraphicType: 'POLYLINE', GraphicData: region,
      ContentSequence: [imageItem('SELECTED FROM', report.source)],
    }] : []),
    ...(finding.probability === null ? [] : [
      numItem(CODES.probability, finding.probability),
      numItem(CODES.operatingPoint, finding.operatingPoint.threshold),
    ]),
    { ...codeItem('CONTAINS', CODES.presence, presenceOf(finding)), ContentSequence: algorithmIdentification(finding) },
    ...(finding.applicability?.applicable === false && finding.applicability.reason ? [textItem('CONTAINS', CODES.comment, `Not applicable: ${finding.applicability.reason.text}`)] : []),
    ...(decision ? [decisionItem(decision)] : []),
  ], region ? '1410' : '1501');
}

function presenceOf(finding: FindingInput): Code {
  if (finding.probability === null) return CODES.notApplicable;
  if (finding.refer) return CODES.undetermined;
  return finding.positive ? CODES.present : CODES.absent;
}

/** TID 4019: the exact model that made the finding — id, version, and its weights' SHA-256. */
function algorithmIdentification(finding: FindingInput): Item[] {
  const { model, operatingPoint } = finding;
  return [
    textItem('HAS CONCEPT MOD', CODES.algorithmName, model.id),
    textItem('HAS CONCEPT MOD', CODES.algorithmVersion, model.version),
    textItem('HAS CONCEPT MOD', CODES.algorithmParameters, `weightsSha256=${model.weightsSha256}`),
    textItem('HAS CONCEPT MOD', CODES.algorithmParameters, `preprocessing=${model.preprocessing}`),
    textItem('HAS CONCEPT MOD', CODES.algorithmParameters, `operatingPoint=${operatingPoint.name}@${operatingPoint.threshold}`),
  ];
}

function decisionItem(decision: ClinicianDecision): Item {
  return {
    ...codeItem('CONTAINS', CODES.decision, decision.decision === 'accept' ? CODES.accepted : CODES.overridden),
    ContentSequence: [
      { RelationshipType: 'HAS OBS CONTEXT', ValueType: 'PNAME', ConceptNameCodeSequence: [coded(CODES.personObserverName)], PersonName: personName(decision.reviewerName) },
      ...(decision.reason ? [codeItem('HAS CONCEPT MOD', CODES.overrideReason, reasonCode(decision.reason.code, decision.reason.display))] : []),
      ...(decision.comment ? [textItem('HAS CONCEPT MOD', CODES.comment, decision.comment)] : []),
    ],
  };
}

function deviceObserver(report: AiResultsReport): Item[] {
  return [
    codeItem('HAS OBS CONTEXT', CODES.observerType, CODES.device),
    { RelationshipType: 'HAS OBS CONTEXT', ValueType: 'UIDREF', ConceptNameCodeSequence: [coded(CODES.deviceObserverUid)], UID: report.deviceObserverUid },
    textItem('HAS OBS CONTEXT', CODES.deviceObserverName, `Lantern ${report.model.id}`),
    textItem('HAS OBS CONTEXT', CODES.deviceObserverManufacturer, 'Lantern'),
    textItem('HAS OBS CONTEXT', CODES.deviceObserverModelName, `${report.model.id} ${report.model.version}`),
  ];
}

function personObserver(person: { reviewerName: string; login: string }): Item[] {
  return [
    codeItem('HAS OBS CONTEXT', CODES.observerType, CODES.person),
    { RelationshipType: 'HAS OBS CONTEXT', ValueType: 'PNAME', ConceptNameCodeSequence: [coded(CODES.personObserverName)], PersonName: personName(person.reviewerName) },
    textItem('HAS OBS CONTEXT', CODES.personObserverLoginName, person.login),
  ];
}

/** Type 2 attributes of the Patient and General Study modules: present, empty when the source lacks them. */
const TYPE_2 = ['PatientName', 'PatientID', 'PatientBirthDate', 'PatientSex', 'StudyDate', 'StudyTime', 'ReferringPhysicianName', 'StudyID', 'AccessionNumber'];

function copiedSourceAttributes(source: SourceImage): Item {
  const copied: Item = Object.fromEntries(TYPE_2.map((keyword) => [keyword, '']));
  for (const [keyword, value] of Object.entries(source.attributes)) if (value !== undefined && value !== null && value !== '') copied[keyword] = value;
  copied.StudyInstanceUID = source.studyInstanceUid;
  return copied;
}

function studyReference(studyInstanceUid: string, seriesInstanceUid: string, sopClassUid: string, sopInstanceUid: string): Item {
  return {
    StudyInstanceUID: studyInstanceUid,
    ReferencedSeriesSequence: [{ SeriesInstanceUID: seriesInstanceUid, ReferencedSOPSequence: [{ ReferencedSOPClassUID: sopClassUid, ReferencedSOPInstanceUID: sopInstanceUid }] }],
  };
}

function coded(code: Code): Item {
  return {
    ...(code.value.length > 16 ? { LongCodeValue: code.value } : { CodeValue: code.value }),
    CodingSchemeDesignator: code.scheme,
    CodeMeaning: code.meaning,
  };
}

function container(relationship: string, name: Code, content: Item[], template?: string): Item {
  return {
    RelationshipType: relationship, ValueType: 'CONTAINER', ConceptNameCodeSequence: [coded(name)], ContinuityOfContent: 'SEPARATE',
    ...(template && { ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: template }] }),
    ContentSequence: content,
  };
}

function codeItem(relationship: string, name: Code, value: Code): Item {
  return { RelationshipType: relationship, ValueType: 'CODE', ConceptNameCodeSequence: [coded(name)], ConceptCodeSequence: [coded(value)] };
}

function textItem(relationship: string, name: Code, value: string): Item {
  return { RelationshipType: relationship, ValueType: 'TEXT', ConceptNameCodeSequence: [coded(name)], TextValue: value };
}

function imageItem(relationship: string, source: SourceImage): Item {
  return { RelationshipType: relationship, ValueType: 'IMAGE', ReferencedSOPSequence: [{ ReferencedSOPClassUID: source.sopClassUid, ReferencedSOPInstanceUID: source.sopInstanceUid }] };
}

/** A unitless value in [0, 1]: Numeric Value as DS (16 characters at most), full precision in Floating Point Value. */
function numItem(name: Code, value: number): Item {
  return {
    RelationshipType: 'CONTAINS', ValueType: 'NUM', ConceptNameCodeSequence: [coded(name)],
    MeasuredValueSequence: [{ NumericValue: String(Number(value.toFixed(6))), FloatingPointValue: value, MeasurementUnitsCodeSequence: [coded(CODES.noUnits)] }],
  };
}

/**
 * A display name ("Li Wei") as a Person Name: all of it in the family name component, with
 * the component delimiter written, since a PN without one that holds spaces reads as the
 * retired ACR-NEMA form (PS3.5 6.2.1). A name already in components is kept; backslashes
 * (the value delimiter) go.
 */
function personName(name: string): string {
  const clean = name.replaceAll('\\', ' ').trim().slice(0, 64);
  return clean.includes('^') ? clean : `${clean}^`;
}

function dicomDateTime(iso: string): { date: string; time: string } {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) throw new Error(`content time ${iso} is not a date`);
  const text = at.toISOString();
  return { date: text.slice(0, 10).replaceAll('-', ''), time: `${text.slice(11, 19).replaceAll(':', '')}.${text.slice(20, 23)}` };
}
