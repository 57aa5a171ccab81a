import type { FindingInput, ModelProvenance } from '../../contract/findings.ts';
import { dicomJsonOf, dicomJsonOfWritten, type InstanceDicomJson } from '../dicom-json.ts';
import { EXPLICIT_VR_LITTLE_ENDIAN, writePart10 } from './dcmjs-io.ts';
import { measurementReport, type AiResultsReport, type ClinicianDecision, type SourceImage } from './measurement-report.ts';
import { derivedUid } from './uid.ts';

/**
 * The AI results SR documents Lantern writes about one image and one model, with UIDs
 * derived from what they record: the preliminary document from the findings (source
 * instance + model), each decision document from its review. Writing the same one twice
 * gives the same bytes, so a re-run job stores nothing new.
 */
export interface WrittenSr {
  sopInstanceUid: string;
  seriesInstanceUid: string;
  bytes: Uint8Array;
  /** What QIDO-RS and WADO-RS metadata answer for it: dicomJsonOf(bytes), made from the data set written. */
  dicomJson: InstanceDicomJson;
}

export interface FindingsSrInput {
  /** The analysed image (source-attributes.ts: from what ingest stored, or from its bytes). */
  source: SourceImage;
  model: ModelProvenance;
  findings: FindingInput[];
  /** When the findings were stored (ISO 8601): the document's content time. */
  createdAt: string;
}

export interface DecisionSrInput extends FindingsSrInput {
  /** The review this document records; its id names the document. */
  review: { id: string; createdAt: string; reviewer: { name: string; login: string } };
  /** The latest decision on each finding as of that review, by finding id. */
  decisions: Map<string, ClinicianDecision>;
  /** Where the reviewer works: the verifying organisation. */
  organization: string;
  /** The document this one supersedes: the previous decision's, or the findings'. */
  predecessor: { sopInstanceUid: string; seriesInstanceUid: string };
  /** How many documents precede this one: its Instance Number is one more. */
  position: number;
}

const modelKey = (model: ModelProvenance) => `${model.id}@${model.version}`;

/** The study's AI results series: one per study, whatever the model. */
export const aiResultsSeriesUid = (studyInstanceUid: string) => derivedUid('series', studyInstanceUid);

/** The preliminary document's UID, from the image and the model (so a decision can name it before reading it). */
export const findingsSrUid = (sourceSopInstanceUid: string, model: ModelProvenance) => derivedUid('findings', sourceSopInstanceUid, modelKey(model));

export const decisionSrUid = (reviewId: string) => derivedUid('review', reviewId);

/** The model as a device observer: one UID per model version and weights. */
const deviceObserverUid = (model: ModelProvenance) => derivedUid('device', modelKey(model), model.weightsSha256);

const withTracking = (findings: FindingInput[]) => findings.map((f) => ({ ...f, trackingUid: derivedUid('finding', f.id) }));

/** The preliminary document: what the model found, unverified, awaiting a clinician. */
export function findingsSr(input: FindingsSrInput): WrittenSr {
  const { source } = input;
  return written({
    sopInstanceUid: findingsSrUid(source.sopInstanceUid, input.model), seriesInstanceUid: aiResultsSeriesUid(source.studyInstanceUid),
    instanceNumber: 1, contentTime: input.createdAt, source, model: input.model,
    findings: withTracking(input.findings), deviceObserverUid: deviceObserverUid(input.model),
  });
}

/**
 * A clinician's decision: the same findings with every decision made so far, verified by
 * the reviewer, superseding the previous document. Complete (and final) once every finding
 * with a claim is decided; partial until then.
 */
export function decisionSr(input: DecisionSrInput): WrittenSr {
  const { source } = input;
  const complete = input.findings.every((f) => f.probability === null || input.decisions.has(f.id));
  return written({
    sopInstanceUid: decisionSrUid(input.review.id), seriesInstanceUid: aiResultsSeriesUid(source.studyInstanceUid),
    instanceNumber: input.position + 1, contentTime: input.review.createdAt, source, model: input.model,
    findings: withTracking(input.findings), deviceObserverUid: deviceObserverUid(input.model),
    decisions: input.decisions,
    verification: { reviewerName: input.review.reviewer.name, login: input.review.reviewer.login, organization: input.organization, complete },
    predecessor: input.predecessor,
  });
}

function written(report: AiResultsReport): WrittenSr {
  const { bytes, written: dataset } = writePart10(measurementReport(report));
  return {
    sopInstanceUid: report.sopInstanceUid,
    seriesInstanceUid: report.seriesInstanceUid,
    bytes,
    dicomJson: dicomJsonOfWritten(dataset) ?? dicomJsonOf(bytes, EXPLICIT_VR_LITTLE_ENDIAN, true),
  };
}
