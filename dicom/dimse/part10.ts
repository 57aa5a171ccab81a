import { InvalidDicomError } from '../errors.ts';
import { hasDicmPrefix } from '../parse.ts';
import { part10Header } from '../deidentify/encode.ts';
import { textValue } from '../deidentify/values.ts';

/**
 * Over DIMSE a data set travels without a file meta group: the transfer syntax is the
 * presentation context's, the SOP class and instance are the C-STORE command's. A received
 * object is kept as a Part 10 file — a meta group Lantern writes (as dcmtk's `storescp` does),
 * followed by the data set bytes exactly as they arrived, never re-encoded. Sending goes the
 * other way: the file's data set bytes leave as they are stored.
 */

/** Lantern's implementation class UID for files it writes from DIMSE (PS3.7 D.3.3.2), under 2.25. */
export const IMPLEMENTATION_CLASS_UID = '2.25.280126734104118870735186357125405640451';
export const IMPLEMENTATION_VERSION = 'LANTERN_DIMSE_1';

export interface ReceivedObject {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** The calling AE title: (0002,0016) Source Application Entity Title. */
  sourceAeTitle: string;
}

/** A Part 10 file of `dataSet` (the received chunks, concatenated once, unchanged). */
export function part10Of(object: ReceivedObject, dataSet: readonly Uint8Array[]): Uint8Array {
  const header = part10Header([
    { tag: 0x00020001, vr: 'OB', value: new Uint8Array([0, 1]) },
    { tag: 0x00020002, vr: 'UI', value: textValue(object.sopClassUid, 'UI') },
    { tag: 0x00020003, vr: 'UI', value: textValue(object.sopInstanceUid, 'UI') },
    { tag: 0x00020010, vr: 'UI', value: textValue(object.transferSyntaxUid, 'UI') },
    { tag: 0x00020012, vr: 'UI', value: textValue(IMPLEMENTATION_CLASS_UID, 'UI') },
    { tag: 0x00020013, vr: 'SH', value: textValue(IMPLEMENTATION_VERSION, 'SH') },
    { tag: 0x00020016, vr: 'AE', value: textValue(object.sourceAeTitle, 'AE') },
  ]);
  const out = new Uint8Array(header.length + dataSet.reduce((n, chunk) => n + chunk.length, 0));
  out.set(header, 0);
  let offset = header.length;
  for (const chunk of dataSet) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

export interface StoredObject {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** The data set after the file meta group: a view into the file, not a copy. */
  dataSet: Uint8Array;
}

/**
 * The file meta group's facts and where the data set starts. Only Part 10 files: the meta group
 * is what names the transfer syntax the data set bytes are in.
 */
export function splitPart10(file: Uint8Array): StoredObject {
  if (!hasDicmPrefix(file)) {
    throw new InvalidDicomError('Not a DICOM Part 10 file: no DICM marker at byte 128', { code: 'NOT_PART10' });
  }
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const values = new Map<number, string>();
  let offset = 132;
  // Explicit VR little endian, group 0002 only (PS3.10 7.1); the group length is not trusted, the elements are walked.
  while (offset + 8 <= file.length && view.getUint16(offset, true) === 0x0002) {
    const tag = view.getUint32(offset, true);
    const vr = String.fromCharCode(file[offset + 4], file[offset + 5]);
    const long = ['OB', 'OW', 'OF', 'SQ', 'UT', 'UN'].includes(vr);
    const length = long ? view.getUint32(offset + 8, true) : view.getUint16(offset + 6, true);
    const start = offset + (long ? 12 : 8);
    if (start + length > file.length) throw new InvalidDicomError('Truncated DICOM: the file meta group runs past the end', { code: 'TRUNCATED_DICOM' });
    if (vr === 'UI') values.set(((tag & 0xffff) << 16) | (tag >>> 16), String.fromCharCode(...file.subarray(start, start + length)).replace(/[\0 ]+$/, ''));
    offset = start + length;
  }
  const need = (tag: number, name: string) => {
    const value = values.get(tag);
    if (!value) throw new InvalidDicomError(`Malformed DICOM: the file meta group has no ${name}`, { code: 'MISSING_ATTRIBUTE' });
    return value;
  };
  return {
    sopClassUid: need(0x00020002, 'Media Storage SOP Class UID (0002,0002)'),
    sopInstanceUid: need(0x00020003, 'Media Storage SOP Instance UID (0002,0003)'),
    transferSyntaxUid: need(0x00020010, 'Transfer Syntax UID (0002,0010)'),
    dataSet: file.subarray(offset),
  };
}
