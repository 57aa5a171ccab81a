import dcmjs from 'dcmjs';
import { dateRange, type DicomJsonDataset, type StudyQuery } from '../../contract/dicomweb-query.ts';
import type { FindAnswer } from '../../dicom/dimse/server.ts';
import { STATUS, type DimseStatus } from '../../dicom/dimse/status.ts';

/**
 * A C-FIND identifier (PS3.4 C.6.2, STUDY level) to the QIDO-RS matcher's query, and its DICOM
 * JSON answers back to C-FIND responses holding the keys the identifier asked for. What the
 * matcher cannot do is refused with a reason rather than answered wrongly: wildcards are
 * matched in names and descriptions (as QIDO does), not in IDs.
 */

/** More matches than this end with 0xA700 after the first this many: the peer narrows its query. */
export const MAX_FIND_MATCHES = 500;

/** dcmjs's data dictionary by keyword (dcmjs ships no typings; the shared declaration covers less). */
const dictionary = (dcmjs as unknown as {
  data: { DicomMetaDictionary: { nameMap: Record<string, { tag: string } | undefined>; naturalizeDataset(json: DicomJsonDataset): Record<string, unknown> } };
}).data.DicomMetaDictionary;

/** Keys every response carries whatever was asked. */
const ALWAYS = { QueryRetrieveLevel: 'STUDY', SpecificCharacterSet: 'ISO_IR 192' };

type Refusal = { refused: DimseStatus };

/** One value of an identifier key as text: a name's alphabetic group, the first of several values; '' for universal matching. */
function text(value: unknown): string {
  const first = Array.isArray(value) ? value[0] : value;
  if (first && typeof first === 'object' && 'Alphabetic' in first) return String((first as { Alphabetic: unknown }).Alphabetic ?? '').trim();
  return first === undefined || first === null ? '' : String(first).trim();
}

/** Every value of a multi-valued key (UID lists, modalities). */
const values = (value: unknown): string[] => (Array.isArray(value) ? value : [value]).map((v) => text(v)).filter(Boolean);

const hasWildcard = (value: string) => /[*?]/.test(value);

/** The identifier as a study query, or the status refusing it. */
export function studyQueryOf(identifier: Record<string, unknown>): { query: Omit<StudyQuery, 'limit' | 'offset'> } | Refusal {
  const level = text(identifier.QueryRetrieveLevel).toUpperCase();
  if (level !== 'STUDY') return { refused: { status: STATUS.cannotUnderstand, comment: `only STUDY level is supported, not "${level.slice(0, 16)}"` } };
  const query: Omit<StudyQuery, 'limit' | 'offset'> = {};
  const name = text(identifier.PatientName);
  if (name && name !== '*') query.patientName = name;
  const description = text(identifier.StudyDescription);
  if (description && description !== '*') query.studyDescription = description;
  for (const [key, field] of [['PatientID', 'patientId'], ['AccessionNumber', 'accessionNumber']] as const) {
    const value = text(identifier[key]);
    if (!value || value === '*') continue;
    if (hasWildcard(value)) return { refused: { status: STATUS.cannotUnderstand, comment: `${key}: wildcards are matched in names only` } };
    query[field] = value;
  }
  const date = text(identifier.StudyDate);
  if (date) {
    const range = dateRange(date);
    if (!range) return { refused: { status: STATUS.cannotUnderstand, comment: `StudyDate "${date.slice(0, 20)}" is not a date or range` } };
    query.studyDate = range;
  }
  const modalities = values(identifier.ModalitiesInStudy).filter((m) => m !== '*');
  if (modalities.length) query.modalitiesInStudy = modalities;
  const uids = values(identifier.StudyInstanceUID);
  if (uids.length) query.studyInstanceUids = uids;
  return { query };
}

/**
 * The responses: each study with the identifier's keys (empty where Lantern holds no value,
 * PS3.4 C.2.2.1.1), then Success — or 0xA700 when there were more than MAX_FIND_MATCHES.
 */
export function findAnswer(identifier: Record<string, unknown>, studies: DicomJsonDataset[]): FindAnswer & { studies: string[] } {
  const shown = studies.slice(0, MAX_FIND_MATCHES);
  const asked = Object.keys(identifier).filter((key) => key !== '_vrMap' && !(key in ALWAYS));
  const matches = shown.map((study) => {
    const picked: DicomJsonDataset = {};
    for (const key of asked) {
      const tag = dictionary.nameMap[key]?.tag?.replace(/[(),]/g, '').toUpperCase();
      if (tag && study[tag]) picked[tag] = study[tag];
    }
    const natural = dictionary.naturalizeDataset(picked);
    delete natural._vrMap;
    return { ...Object.fromEntries(asked.map((key) => [key, natural[key] ?? ''])), ...ALWAYS };
  });
  return {
    matches,
    studies: shown.map((study) => text(study['0020000D']?.Value)),
    ...(studies.length > MAX_FIND_MATCHES && { final: { status: STATUS.outOfResources, comment: `more than ${MAX_FIND_MATCHES} studies match; narrow the query` } }),
  };
}
