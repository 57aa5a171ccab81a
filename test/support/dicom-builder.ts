import { joinedBytes } from '../../dicom/bytes.ts';
import { parseDicom } from '../../dicom/parse.ts';
/**
 * Writes small DICOM Part-10 files byte by byte (explicit VR little endian meta, dataset
 * in the transfer syntax's VR encoding), so tests can make edge cases no public file has.
 */
export interface Element {
  tag: number;
  vr: string;
  value: string | number | Uint8Array | Uint8Array[];
}

const LONG_VRS = new Set(['OB', 'OW', 'OF', 'SQ', 'UT', 'UN']);

function padded(bytes: Uint8Array, pad: number): Uint8Array {
  if (bytes.length % 2 === 0) return bytes;
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  out[bytes.length] = pad;
  return out;
}

function valueBytes(element: Element): Uint8Array {
  const { vr, value } = element;
  if (Array.isArray(value)) return encapsulated(value);
  if (value instanceof Uint8Array) return padded(value, 0);
  if (vr === 'US') return new Uint8Array(new Uint16Array([value as number]).buffer);
  if (vr === 'UL') return new Uint8Array(new Uint32Array([value as number]).buffer);
  return padded(new TextEncoder().encode(String(value)), vr === 'UI' ? 0 : 0x20);
}

/** Encapsulated pixel data: an empty basic offset table, one item per fragment, a sequence delimiter. */
function encapsulated(fragments: Uint8Array[]): Uint8Array {
  const item = (bytes: Uint8Array) => {
    const header = new DataView(new ArrayBuffer(8));
    header.setUint16(0, 0xfffe, true);
    header.setUint16(2, 0xe000, true);
    header.setUint32(4, bytes.length, true);
    return [new Uint8Array(header.buffer), bytes];
  };
  const end = new DataView(new ArrayBuffer(8));
  end.setUint16(0, 0xfffe, true);
  end.setUint16(2, 0xe0dd, true);
  return joinedBytes([...item(new Uint8Array(0)), ...fragments.flatMap((f) => item(padded(f, 0))), new Uint8Array(end.buffer)]);
}

function encode(element: Element): Uint8Array {
  const body = valueBytes(element);
  const long = LONG_VRS.has(element.vr);
  const header = new DataView(new ArrayBuffer(long ? 12 : 8));
  header.setUint16(0, element.tag >>> 16, true);
  header.setUint16(2, element.tag & 0xffff, true);
  header.setUint8(4, element.vr.charCodeAt(0));
  header.setUint8(5, element.vr.charCodeAt(1));
  const undefinedLength = Array.isArray(element.value);
  if (long) header.setUint32(8, undefinedLength ? 0xffffffff : body.length, true);
  else header.setUint16(6, body.length, true);
  return joinedBytes([new Uint8Array(header.buffer), body]);
}

/** A Part-10 file: preamble, DICM, file meta group (with its length), then `elements` in tag order. */
export function buildPart10(transferSyntaxUid: string, sopClassUid: string, sopInstanceUid: string, elements: Element[]): Uint8Array {
  const metaElements = [
    { tag: 0x00020001, vr: 'OB', value: new Uint8Array([0, 1]) },
    { tag: 0x00020002, vr: 'UI', value: sopClassUid },
    { tag: 0x00020003, vr: 'UI', value: sopInstanceUid },
    { tag: 0x00020010, vr: 'UI', value: transferSyntaxUid },
    { tag: 0x00020012, vr: 'UI', value: '1.2.826.0.1.3680043.10.1' },
  ].map(encode);
  const meta = joinedBytes(metaElements);
  const groupLength = encode({ tag: 0x00020000, vr: 'UL', value: meta.length });
  const dataset = joinedBytes([...elements].sort((a, b) => a.tag - b.tag).map(encode));
  return joinedBytes([new Uint8Array(128), new TextEncoder().encode('DICM'), groupLength, meta, dataset]);
}

export interface GreyImage {
  rows: number;
  columns: number;
  bitsAllocated: number;
  bitsStored: number;
  pixelRepresentation: number;
  photometricInterpretation: string;
}

/**
 * A single-frame CR with fresh UIDs under `uidRoot` (study .1, series .2, instance .3):
 * native pixels (Uint8Array) or encapsulated fragments (Uint8Array[]) per `transferSyntaxUid`.
 * `extra` adds attributes (patient's age, view position, body part, …).
 */
export function buildCr(uidRoot: string, transferSyntaxUid: string, image: GreyImage, pixelData: Uint8Array | Uint8Array[], extra: Element[] = []): Uint8Array {
  const crStorage = '1.2.840.10008.5.1.4.1.1.1';
  return buildPart10(transferSyntaxUid, crStorage, `${uidRoot}.3`, [
    { tag: 0x00080016, vr: 'UI', value: crStorage },
    { tag: 0x00080018, vr: 'UI', value: `${uidRoot}.3` },
    { tag: 0x00080060, vr: 'CS', value: 'CR' },
    { tag: 0x0020000d, vr: 'UI', value: `${uidRoot}.1` },
    { tag: 0x0020000e, vr: 'UI', value: `${uidRoot}.2` },
    { tag: 0x00280002, vr: 'US', value: 1 },
    { tag: 0x00280004, vr: 'CS', value: image.photometricInterpretation },
    { tag: 0x00280010, vr: 'US', value: image.rows },
    { tag: 0x00280011, vr: 'US', value: image.columns },
    { tag: 0x00280100, vr: 'US', value: image.bitsAllocated },
    { tag: 0x00280101, vr: 'US', value: image.bitsStored },
    { tag: 0x00280102, vr: 'US', value: image.bitsStored - 1 },
    { tag: 0x00280103, vr: 'US', value: image.pixelRepresentation },
    { tag: 0x7fe00010, vr: image.bitsAllocated > 8 && !Array.isArray(pixelData) ? 'OW' : 'OB', value: pixelData },
    ...extra,
  ]);
}

/**
 * The same file as another patient's: its Patient ID written over, in place (the new ID must
 * be as long as the file's own, so no length changes and the pixel data stays byte-identical).
 */
export function withPatientId(bytes: Uint8Array, patientId: string): Uint8Array {
  const copy = new Uint8Array(bytes);
  const element = parseDicom(copy).dataSet.elements.x00100020;
  if (!element || patientId.length !== element.length) throw new Error(`the patient ID must have the file's length (${element?.length ?? 'none'})`);
  for (let i = 0; i < patientId.length; i++) copy[element.dataOffset + i] = patientId.charCodeAt(i);
  return copy;
}

/**
 * The same file as another instance of another study: the Study, Series and SOP Instance
 * UIDs (and the meta header's copy) get `n` (≥ 1) written over their last digits, in place, so
 * the pixel data (compressed or not) stays byte-identical and only the identity changes.
 * With `into`, a new instance of that existing study instead.
 */
export function withFreshUids(bytes: Uint8Array, n: number, into?: { studyInstanceUid: string }): Uint8Array {
  const copy = new Uint8Array(bytes);
  const { dataSet } = parseDicom(copy);
  if (dataSet.byteArray !== copy) throw new Error('withFreshUids needs a file parsed in place (not deflated)');
  const suffix = String(n);
  for (const tag of ['x00020003', 'x00080018', 'x0020000d', 'x0020000e']) {
    const element = dataSet.elements[tag];
    if (!element) continue;
    if (tag === 'x0020000d' && into) {
      // Into an existing study: its UID, NUL-padded to the element's length (UIDs of one source file are as long).
      if (into.studyInstanceUid.length > element.length) throw new Error('the study UID does not fit');
      copy.fill(0, element.dataOffset, element.dataOffset + element.length);
      for (let i = 0; i < into.studyInstanceUid.length; i++) copy[element.dataOffset + i] = into.studyInstanceUid.charCodeAt(i);
      continue;
    }
    let end = element.dataOffset + element.length;
    while (end > element.dataOffset && (copy[end - 1] === 0 || copy[end - 1] === 0x20)) end--;
    if (end - element.dataOffset < suffix.length + 2) throw new Error(`UID ${tag} too short to vary`);
    for (let i = 0; i < suffix.length; i++) copy[end - suffix.length + i] = suffix.charCodeAt(i);
  }
  return copy;
}

/**
 * One small image (8×8, 16-bit, explicit VR little endian) of `series` in `study`: what a
 * large study is built from, instance by instance. CT by default, for which no model is
 * served, so ingesting it is the database's work alone.
 */
export function buildSeriesImage(ids: { study: string; series: string; sop: string; seriesNumber?: number }, modality = 'CT'): Uint8Array {
  const sopClass = modality === 'CT' ? '1.2.840.10008.5.1.4.1.1.2' : '1.2.840.10008.5.1.4.1.1.7';
  return buildPart10('1.2.840.10008.1.2.1', sopClass, ids.sop, [
    { tag: 0x00080016, vr: 'UI', value: sopClass },
    { tag: 0x00080018, vr: 'UI', value: ids.sop },
    { tag: 0x00080060, vr: 'CS', value: modality },
    { tag: 0x00100010, vr: 'PN', value: 'Large^Study' },
    { tag: 0x0020000d, vr: 'UI', value: ids.study },
    { tag: 0x0020000e, vr: 'UI', value: ids.series },
    { tag: 0x00200011, vr: 'IS', value: String(ids.seriesNumber ?? 1) },
    { tag: 0x00280002, vr: 'US', value: 1 },
    { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
    { tag: 0x00280010, vr: 'US', value: 8 },
    { tag: 0x00280011, vr: 'US', value: 8 },
    { tag: 0x00280100, vr: 'US', value: 16 },
    { tag: 0x00280101, vr: 'US', value: 12 },
    { tag: 0x00280102, vr: 'US', value: 11 },
    { tag: 0x00280103, vr: 'US', value: 0 },
    { tag: 0x7fe00010, vr: 'OW', value: new Uint8Array(8 * 8 * 2) },
  ]);
}
