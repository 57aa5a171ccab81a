import { DICOM_UID_PATTERN } from '../contract/dicomweb.ts';
import type { InstanceMeta } from './attributes.ts';
import { InvalidDicomError } from './errors.ts';

/**
 * DICOM UIDs (PS3.5 §9.1): dot-separated components of digits, no component with a leading
 * zero (a lone "0" is fine), at most 64 characters. Lantern keys studies, series, instances
 * and paths by them, so an object whose UIDs are anything else ('../../etc/passwd', markup,
 * 10,000 characters) is refused where it enters.
 */
export const MAX_UID_LENGTH = 64;

/** Why `value` is not a UID, in words a sender can act on; undefined when it is one. */
export function uidProblem(value: string): string | undefined {
  if (value.length === 0) return 'it is empty';
  if (value.length > MAX_UID_LENGTH) return `it has ${value.length} characters (at most ${MAX_UID_LENGTH})`;
  if (/[^0-9.]/.test(value)) return 'it holds characters other than digits and dots';
  if (!DICOM_UID_PATTERN.test(value)) return 'a component is empty or starts with a zero';
  return undefined;
}

const IDENTIFYING: readonly [keyof InstanceMeta, string][] = [
  ['studyInstanceUid', 'Study Instance UID (0020,000D)'],
  ['seriesInstanceUid', 'Series Instance UID (0020,000E)'],
  ['sopInstanceUid', 'SOP Instance UID (0008,0018)'],
];

/** Refuses (INVALID_UID) an instance whose Study, Series or SOP Instance UID is not a UID. */
export function requireValidUids(meta: InstanceMeta): void {
  for (const [key, name] of IDENTIFYING) {
    const problem = uidProblem(String(meta[key]));
    if (problem) throw new InvalidDicomError(`Invalid DICOM: ${name} is not a UID (PS3.5 §9.1): ${problem}`, { code: 'INVALID_UID' });
  }
}
