import { inflateRawSync } from 'node:zlib';
import { InvalidDicomError } from './errors.ts';
import { overLimit, RATIO_FLOOR_BYTES, type DicomLimits } from './limits.ts';

/**
 * A bounded walk over the element headers of a DICOM object, made before dicom-parser
 * builds its data set: dicom-parser allocates an object per element with no bound and
 * no way to stop, so 20 million elements held a thread for 21 minutes. This walk
 * allocates nothing per element, counts elements and sequence depth, checks every value
 * length against the bytes that hold it (a corrupted length field is a 4xx here, not a
 * surprise later) and inflates a deflated data set no further than its bound.
 * It follows dicom-parser's reading (explicit/implicit, byte order, undefined lengths,
 * encapsulated Pixel Data) so every file dicom-parser reads whole is accepted.
 */

const ITEM = 0xfffee000;
const ITEM_END = 0xfffee00d;
const SEQUENCE_END = 0xfffee0dd;
const PIXEL_DATA = 0x7fe00010;
const UNDEFINED = 0xffffffff;
/** Explicit VRs whose length takes 4 bytes after 2 reserved ones (PS3.5 §7.1.2). */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const DEADLINE_CHECK_EVERY = 4096;

export const DEFLATED_SYNTAX = '1.2.840.10008.1.2.1.99';

export interface ScanResult {
  /** The bytes dicom-parser should read: the input, or for a deflated object its meta header followed by the inflated data set. */
  bytes: Uint8Array;
  /** Where the data set starts in `bytes` (after the preamble and meta header). */
  dataSetOffset: number;
  elements: number;
}

interface Walk {
  bytes: Uint8Array;
  view: DataView;
  littleEndian: boolean;
  explicit: boolean;
  limits: DicomLimits;
  deadline: number;
  elements: number;
}

/**
 * Walks the object; throws DicomLimitError over a bound and InvalidDicomError when a length
 * runs past its container. `rawSyntax` is the guessed syntax of a file without a preamble.
 */
export function scanDicom(input: Uint8Array, rawSyntax: string | undefined, limits: DicomLimits, startedAt = Date.now()): ScanResult {
  const deadline = startedAt + limits.parseDeadlineMs;
  let bytes = input;
  let offset = 0;
  let syntax = rawSyntax;
  const meta: Walk = walk(bytes, true, true, limits, deadline);
  if (rawSyntax === undefined) {
    offset = 132;
    syntax = '';
    while (offset + 8 <= bytes.length && meta.view.getUint16(offset, true) === 0x0002) {
      const header = readHeader(meta, offset, bytes.length);
      if (header.tag === 0x00020010 && header.length !== UNDEFINED) {
        syntax = new TextDecoder().decode(bytes.subarray(header.valueStart, header.valueStart + header.length)).replace(/[\0\s]+$/, '');
      }
      count(meta);
      offset = skipValue(meta, header, bytes.length, 0);
    }
  }
  if (syntax === DEFLATED_SYNTAX) {
    bytes = inflateBounded(input, offset, limits);
  }
  const body = walk(bytes, syntax !== '1.2.840.10008.1.2.2', syntax !== '1.2.840.10008.1.2', limits, deadline);
  body.elements = meta.elements;
  scanDataSet(body, offset, bytes.length, 0, false);
  return { bytes, dataSetOffset: offset, elements: body.elements };
}

function walk(bytes: Uint8Array, littleEndian: boolean, explicit: boolean, limits: DicomLimits, deadline: number): Walk {
  return { bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), littleEndian, explicit, limits, deadline, elements: 0 };
}

/** Header bytes plus inflated data set, exactly as dicom-parser's inflater callback returns them. */
function inflateBounded(input: Uint8Array, position: number, limits: DicomLimits): Uint8Array {
  const deflated = input.subarray(position);
  const byRatio = Math.max(RATIO_FLOOR_BYTES, deflated.length * limits.maxInflateRatio);
  const bound = Math.min(limits.maxInflatedBytes, byRatio);
  let inflated: Buffer;
  try {
    inflated = inflateRawSync(deflated, { maxOutputLength: bound + 1 });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw bound === limits.maxInflatedBytes
        ? overLimit('maxInflatedBytes', limits, `the deflated data set inflates past ${bound} bytes`)
        : overLimit('maxInflateRatio', limits, `${deflated.length} deflated bytes inflate past ${bound} bytes`);
    }
    throw new InvalidDicomError(`Malformed DICOM: the deflated data set cannot be inflated: ${(error as Error).message}`, { code: 'INVALID_DICOM', cause: error });
  }
  if (inflated.length > bound) {
    throw overLimit(bound === limits.maxInflatedBytes ? 'maxInflatedBytes' : 'maxInflateRatio', limits, `the deflated data set inflates to more than ${bound} bytes`);
  }
  const whole = new Uint8Array(position + inflated.length);
  whole.set(input.subarray(0, position), 0);
  whole.set(inflated, position);
  return whole;
}

interface Header {
  tag: number;
  vr: string | undefined;
  length: number;
  valueStart: number;
}

function readHeader(w: Walk, position: number, end: number): Header {
  if (position + 8 > end) throw truncated(`an element header at byte ${position} runs past the end of its container`);
  const group = w.view.getUint16(position, w.littleEndian);
  const element = w.view.getUint16(position + 2, w.littleEndian);
  const tag = ((group << 16) | element) >>> 0;
  if (group === 0xfffe || !w.explicit) {
    return { tag, vr: undefined, length: w.view.getUint32(position + 4, w.littleEndian), valueStart: position + 8 };
  }
  const vr = String.fromCharCode(w.bytes[position + 4], w.bytes[position + 5]);
  if (LONG_VRS.has(vr)) {
    if (position + 12 > end) throw truncated(`the header of element ${hex(tag)} runs past the end of its container`);
    return { tag, vr, length: w.view.getUint32(position + 8, w.littleEndian), valueStart: position + 12 };
  }
  return { tag, vr, length: w.view.getUint16(position + 6, w.littleEndian), valueStart: position + 8 };
}

function count(w: Walk): void {
  w.elements++;
  if (w.elements > w.limits.maxElements) throw overLimit('maxElements', w.limits, `more than ${w.limits.maxElements} elements`);
  if (w.elements % DEADLINE_CHECK_EVERY === 0 && Date.now() > w.deadline) {
    throw overLimit('parseDeadlineMs', w.limits, `parsing took longer than ${w.limits.parseDeadlineMs} ms`);
  }
}

/**
 * The elements of one data set between `position` and `end`; inside an item of undefined
 * length (`untilItemEnd`) it stops after the item delimiter and returns the position after it.
 */
function scanDataSet(w: Walk, position: number, end: number, depth: number, untilItemEnd: boolean): number {
  while (position < end) {
    const header = readHeader(w, position, end);
    if (header.tag === ITEM_END) {
      if (untilItemEnd) return header.valueStart;
      position = header.valueStart;
      continue;
    }
    count(w);
    position = skipValue(w, header, end, depth);
  }
  if (untilItemEnd) throw truncated('an item of undefined length has no item delimiter');
  return position;
}

/** Past one element's value, walking into sequences and encapsulated Pixel Data. */
function skipValue(w: Walk, header: Header, end: number, depth: number): number {
  const { tag, vr, length, valueStart } = header;
  if (length === UNDEFINED) {
    if (tag === PIXEL_DATA) return scanFragments(w, valueStart, end);
    if (vr === 'UN') return implicitly(w, () => scanSequence(w, valueStart, end, depth + 1, true));
    if (vr === undefined || vr === 'SQ') return scanSequence(w, valueStart, end, depth + 1, true);
    throw malformed(`element ${hex(tag)} (${vr}) has an undefined length, which only sequences and Pixel Data may have`);
  }
  const valueEnd = valueStart + length;
  if (valueEnd > end) throw truncated(`element ${hex(tag)} declares ${length} bytes but its container ends ${end - valueStart} bytes later`);
  if (tag !== PIXEL_DATA && length > w.limits.maxValueBytes) {
    throw overLimit('maxValueBytes', w.limits, `element ${hex(tag)} holds ${length} bytes`);
  }
  const sequence = vr === 'SQ' || (vr === undefined && tag !== PIXEL_DATA && length >= 8 && isItemTag(w, valueStart));
  if (sequence) scanSequence(w, valueStart, valueEnd, depth + 1, false);
  return valueEnd;
}

/** A UN sequence of undefined length is implicit VR little endian inside (PS3.5 §6.2.2). */
function implicitly<T>(w: Walk, run: () => T): T {
  const { explicit, littleEndian } = w;
  w.explicit = false;
  w.littleEndian = true;
  try {
    return run();
  } finally {
    w.explicit = explicit;
    w.littleEndian = littleEndian;
  }
}

function isItemTag(w: Walk, position: number): boolean {
  return w.view.getUint16(position, w.littleEndian) === 0xfffe && w.view.getUint16(position + 2, w.littleEndian) === 0xe000;
}

/** Items of a sequence, until its delimiter (undefined length) or its end. */
function scanSequence(w: Walk, position: number, end: number, depth: number, undefinedLength: boolean): number {
  if (depth > w.limits.maxDepth) throw overLimit('maxDepth', w.limits, `sequences nested more than ${w.limits.maxDepth} deep`);
  // Items and nested data sets are implicit-style in an implicit data set and inside UN.
  while (position < end) {
    const header = readHeader(w, position, end);
    if (header.tag === SEQUENCE_END) {
      if (undefinedLength) return header.valueStart;
      position = header.valueStart;
      continue;
    }
    // Like dicom-parser, whatever stands where an item belongs is read as one (it only warns).
    count(w);
    if (header.length === UNDEFINED) {
      position = scanDataSet(w, header.valueStart, end, depth, true);
    } else {
      const itemEnd = header.valueStart + header.length;
      if (itemEnd > end) throw truncated(`an item declares ${header.length} bytes but its sequence ends first`);
      scanDataSet(w, header.valueStart, itemEnd, depth, false);
      position = itemEnd;
    }
  }
  if (undefinedLength) throw truncated('a sequence of undefined length has no sequence delimiter');
  return position;
}

/** Encapsulated Pixel Data: items of defined length up to the sequence delimiter. */
function scanFragments(w: Walk, position: number, end: number): number {
  while (position < end) {
    const header = readHeader(w, position, end);
    if (header.tag === SEQUENCE_END) return header.valueStart;
    if (header.tag !== ITEM || header.length === UNDEFINED) throw malformed(`encapsulated Pixel Data holds ${hex(header.tag)} where a fragment belongs`);
    count(w);
    const fragmentEnd = header.valueStart + header.length;
    if (fragmentEnd > end) throw truncated(`a Pixel Data fragment declares ${header.length} bytes but the data ends first`);
    position = fragmentEnd;
  }
  throw truncated('encapsulated Pixel Data has no sequence delimiter');
}

const hex = (tag: number) => `(${(tag >>> 16).toString(16).padStart(4, '0').toUpperCase()},${(tag & 0xffff).toString(16).padStart(4, '0').toUpperCase()})`;

function truncated(detail: string): InvalidDicomError {
  return new InvalidDicomError(`Truncated DICOM: ${detail}`, { code: 'TRUNCATED_DICOM' });
}

function malformed(detail: string): InvalidDicomError {
  return new InvalidDicomError(`Malformed DICOM: ${detail}`, { code: 'INVALID_DICOM' });
}
