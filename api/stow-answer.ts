import { LANTERN_PRIVATE_CREATOR, type FailedSop, type ReferencedSop, type StoreInstancesResponse, type StoredInstance } from '../contract/dicomweb.ts';
import { DicomError, DicomLimitError, UnsupportedTransferSyntaxError } from '../dicom/errors.ts';
import { InstanceRefusedError, NotInTargetStudyError, StudyOfAnotherSiteError } from '../pipeline/ingest.ts';

/** A refused part: Lantern's reason, and the DICOM one. */
export interface RefusedPart {
  part: number;
  code: string;
  message: string;
  /** Failure Reason (0008,1197). */
  failureReason: number;
  /** Known when the part was read far enough (a refusal for where it would go, not for what it is). */
  sop?: { classUid: string; instanceUid: string };
}

/**
 * Failure Reason (0008,1197) values, PS3.18 Table I.2-2, with the codes it leaves to the
 * implementation (documented in docs/api.md):
 * - 0xA700 refused, out of resources: the object breaks one of Lantern's parse bounds (DicomLimitError);
 * - 0xA900 data set does not match its SOP Class: a required attribute missing or invalid;
 * - 0xC000 cannot understand: not DICOM, truncated, malformed;
 * - 0xC122 transfer syntax not supported;
 * - 0xC409 Study Instance UID differs from the study addressed — the value dcm4chee-arc uses,
 *   as PS3.18 names none (Microsoft's DICOM service uses 0xA901);
 * - 0x0124 refused, not authorised (PS3.7 C.5.10): the study is filed under another site;
 * - 0x0110 processing failure: anything else.
 */
export const FAILURE_REASON = {
  outOfResources: 0xa700,
  doesNotMatchSopClass: 0xa900,
  cannotUnderstand: 0xc000,
  transferSyntaxNotSupported: 0xc122,
  studyInstanceUidMismatch: 0xc409,
  notAuthorised: 0x0124,
  processingFailure: 0x0110,
} as const;

const MAX_MESSAGE_CHARS = 300;
const NOT_MATCHING_SOP_CLASS = new Set(['MISSING_ATTRIBUTE', 'INVALID_UID', 'INVALID_PIXEL_DATA']);
const NOT_UNDERSTOOD = new Set(['INVALID_DICOM', 'TRUNCATED_DICOM']);

/** The refusal of part `part` for `error`. */
export function refusedPart(part: number, error: DicomError): RefusedPart {
  return {
    part,
    code: error.code,
    // Bounded like every error answer (api/errors.ts): a message may quote what the file held.
    message: error.message.length > MAX_MESSAGE_CHARS ? `${error.message.slice(0, MAX_MESSAGE_CHARS)}…` : error.message,
    failureReason: failureReasonOf(error),
    ...(error instanceof InstanceRefusedError && { sop: error.sop }),
  };
}

function failureReasonOf(error: DicomError): number {
  if (error instanceof DicomLimitError) return FAILURE_REASON.outOfResources;
  if (error instanceof UnsupportedTransferSyntaxError) return FAILURE_REASON.transferSyntaxNotSupported;
  if (error instanceof NotInTargetStudyError) return FAILURE_REASON.studyInstanceUidMismatch;
  if (error instanceof StudyOfAnotherSiteError) return FAILURE_REASON.notAuthorised;
  if (NOT_MATCHING_SOP_CLASS.has(error.code)) return FAILURE_REASON.doesNotMatchSopClass;
  if (NOT_UNDERSTOOD.has(error.code)) return FAILURE_REASON.cannotUnderstand;
  return FAILURE_REASON.processingFailure;
}

/** The STOW-RS answer in DICOM JSON (contract `storeInstancesResponse`); `dicomwebRoot` is where this server's `/dicomweb` is reached. */
export function storeInstancesResponse(dicomwebRoot: string, held: StoredInstance[], refused: RefusedPart[], addressedStudy?: string): StoreInstancesResponse {
  const studyUrl = (study: string) => `${dicomwebRoot}/studies/${study}`;
  const studies = new Set(held.map((h) => h.studyInstanceUid));
  const study = addressedStudy ?? (studies.size === 1 ? [...studies][0] : undefined);
  const referenced = held.map((h): ReferencedSop => ({
    '00081150': { vr: 'UI', Value: [h.sopClassUid] },
    '00081155': { vr: 'UI', Value: [h.sopInstanceUid] },
    '00081190': { vr: 'UR', Value: [`${studyUrl(h.studyInstanceUid)}/series/${h.seriesInstanceUid}/instances/${h.sopInstanceUid}`] },
  }));
  const failed = refused.map((r): FailedSop => ({
    ...(r.sop && { '00081150': { vr: 'UI', Value: [r.sop.classUid] }, '00081155': { vr: 'UI', Value: [r.sop.instanceUid] } }),
    '00081197': { vr: 'US', Value: [r.failureReason] },
    '00090010': { vr: 'LO', Value: [LANTERN_PRIVATE_CREATOR] },
    '00091001': { vr: 'LO', Value: [r.code] },
    '00091002': { vr: 'LT', Value: [r.message] },
    '00091003': { vr: 'UL', Value: [r.part] },
  }));
  return {
    '00080005': { vr: 'CS', Value: ['ISO_IR 192'] },
    '00081190': study ? { vr: 'UR', Value: [studyUrl(study)] } : { vr: 'UR' },
    ...(failed.length > 0 && { '00081198': { vr: 'SQ', Value: failed } }),
    ...(referenced.length > 0 && { '00081199': { vr: 'SQ', Value: referenced } }),
  };
}

/** PS3.18 Table 10.5.3-1: 200 all stored, 202 some refused, 409 none stored. */
export function stowStatus(held: number, refused: number): 200 | 202 | 409 {
  if (held === 0) return 409;
  return refused === 0 ? 200 : 202;
}
