/**
 * A lean Part 10 encoder for the data sets Lantern writes (its AI results SRs), producing the
 * same bytes as dcmjs 0.51's `DicomDict.write()` for them — so swapping it in changes no stored
 * SR, no UID and no hash — in a fraction of the time (dcmjs-io.ts says where dcmjs's goes).
 *
 * What "the same bytes" takes, all read off dcmjs 0.51.1 (build/dcmjs.es.js) and pinned by
 * part10-writer.test.ts against it:
 * - explicit VR little endian; tags in the order of their keys' string sort (dcmjs's
 *   `Object.keys(dict).sort()`); 32-bit lengths for OB OW OF OD SQ UC UR UT UN UV;
 * - sequences and items of undefined length, each item closed by an Item Delimitation and the
 *   sequence by a Sequence Delimitation (dcmjs writes no defined lengths);
 * - text joined by backslashes and padded to even length with a space (UI with NUL);
 *   AE AS CS DA DS DT IS TM UI UR written one byte per UTF-16 unit (its low byte), all other
 *   text as UTF-8 whatever Specific Character Set says (dcmjs encodes every string it writes
 *   as UTF-8: an SR that declared GB18030 would be mislabelled by both — measurement-report.ts
 *   declares ISO_IR 192 or nothing, which is right for both);
 * - DS as dcmjs's `convertToString` formats numbers (16 characters at most), IS as `String`;
 * - PN from strings or `{ Alphabetic, Ideographic, Phonetic }` groups as its `pnObjectToString`;
 * - US SS UL SL through `parseInt` of strings, FL FD through `parseFloat`, as its `toInt`/`toFloat`;
 * - a null Value as an empty value.
 *
 * What it does not model it does not guess: an element kind outside that list (AT, OB and the
 * other binary VRs, UN, UV, a value of another type, a `_rawValue`, a value dcmjs's length checks
 * refuse, a 16-bit-length value of 64 KiB or more that dcmjs rewrites as UN) makes it return
 * undefined, and the caller writes the whole data set with dcmjs instead (dcmjs-io.ts), which
 * gives dcmjs's bytes, or its error, exactly as before.
 *
 * Past 300 lines on purpose: every rule above is one small function next to the others it must
 * agree with (padding, lengths, what falls back); split across files, "the same bytes as dcmjs"
 * would have to be checked in several places.
 */

/** The file meta information dcmjs-io.ts writes: everything but the SOP class and instance is constant. */
export interface FileMeta {
  mediaStorageSopClassUid: string;
  mediaStorageSopInstanceUid: string;
  transferSyntaxUid: string;
  implementationClassUid: string;
  implementationVersionName: string;
}

/** A denaturalised data set: tag (8 hex digits) → `{ vr, Value }`, as dcmjs's denaturalizeDataset gives it. */
export type DenaturalisedDataset = Record<string, { vr?: string; Value?: unknown; _rawValue?: unknown }>;

/** Thrown inside the encoder when it meets what it does not model; never leaves this module. */
const UNMATCHED = new Error('element kind not modelled by the lean Part 10 encoder');

const TAG = /^[0-9A-Fa-f]{8}$/;
const LENGTH_32 = new Set(['OB', 'OW', 'OF', 'SQ', 'UC', 'UR', 'UT', 'UN', 'OD', 'UV']);
const SPACE = 0x20;
const NUL = 0x00;
const BACKSLASH = 0x5c;

/** How one VR's values are written: dcmjs's representation of it, reduced to what decides the bytes. */
type Kind =
  | { how: 'ascii'; pad: number; maxLength?: number; rangeMaxLength?: number; format?: (value: unknown) => string }
  | { how: 'utf8' }
  | { how: 'pn' }
  | { how: 'int'; set: 'setUint16' | 'setInt16' | 'setUint32' | 'setInt32'; size: number }
  | { how: 'float'; set: 'setFloat32' | 'setFloat64'; size: number }
  | { how: 'sq' };

const KINDS: Record<string, Kind> = {
  AE: { how: 'ascii', pad: SPACE, maxLength: 16 },
  AS: { how: 'ascii', pad: SPACE, maxLength: 4 },
  CS: { how: 'ascii', pad: SPACE, maxLength: 16 },
  // DA, DT and TM check their length themselves (checkLength): longer when a range ('-').
  DA: { how: 'ascii', pad: SPACE, maxLength: 8, rangeMaxLength: 18 },
  DT: { how: 'ascii', pad: SPACE, maxLength: 26, rangeMaxLength: 54 },
  TM: { how: 'ascii', pad: SPACE, maxLength: 16, rangeMaxLength: 28 },
  DS: { how: 'ascii', pad: SPACE, maxLength: 16, format: decimalString },
  IS: { how: 'ascii', pad: SPACE, maxLength: 12, format: integerString },
  UI: { how: 'ascii', pad: NUL, maxLength: 64 },
  UR: { how: 'ascii', pad: SPACE },
  // dcmjs only logs LO SH LT ST past their character counts; UC and UT have none.
  LO: { how: 'utf8' }, SH: { how: 'utf8' }, LT: { how: 'utf8' }, ST: { how: 'utf8' }, UC: { how: 'utf8' }, UT: { how: 'utf8' },
  PN: { how: 'pn' },
  US: { how: 'int', set: 'setUint16', size: 2 },
  SS: { how: 'int', set: 'setInt16', size: 2 },
  UL: { how: 'int', set: 'setUint32', size: 4 },
  SL: { how: 'int', set: 'setInt32', size: 4 },
  FL: { how: 'float', set: 'setFloat32', size: 4 },
  FD: { how: 'float', set: 'setFloat64', size: 8 },
  SQ: { how: 'sq' },
};

/**
 * The Part 10 file (128-byte preamble, DICM, file meta group with its group length, then the
 * data set) for `dataset`, byte for byte what dcmjs 0.51 writes; undefined when the data set has
 * an element this encoder does not model (see above): write it with dcmjs then.
 */
export function encodePart10(dataset: DenaturalisedDataset, meta: FileMeta): Uint8Array | undefined {
  const out = new Output(16384);
  try {
    out.zeros(128);
    out.ascii('DICM');
    // (0002,0000) UL, its value patched once the group is written.
    out.u16(0x0002); out.u16(0x0000); out.ascii('UL'); out.u16(4);
    const groupLengthAt = out.pos;
    out.u32(0);
    const groupStart = out.pos;
    // The meta elements in tag order, as dcmjs writes them from its denaturalised meta.
    out.u16(0x0002); out.u16(0x0001); out.ascii('OB'); out.u16(0); out.u32(2); out.u8(0); out.u8(1);
    writeElement(out, '00020002', { vr: 'UI', Value: [uidOfMeta(meta.mediaStorageSopClassUid)] });
    writeElement(out, '00020003', { vr: 'UI', Value: [uidOfMeta(meta.mediaStorageSopInstanceUid)] });
    writeElement(out, '00020010', { vr: 'UI', Value: [uidOfMeta(meta.transferSyntaxUid)] });
    writeElement(out, '00020012', { vr: 'UI', Value: [uidOfMeta(meta.implementationClassUid)] });
    writeElement(out, '00020013', { vr: 'SH', Value: [meta.implementationVersionName] });
    out.view.setUint32(groupLengthAt, out.pos - groupStart, true);
    writeDataset(out, dataset);
  } catch (error) {
    if (error === UNMATCHED) return undefined;
    throw error;
  }
  return out.bytes();
}

/** dcmjs's denaturalizeDataset cuts a meta UID past 64 characters; not modelled here. */
function uidOfMeta(uid: string): string {
  if (typeof uid !== 'string' || uid.length > 64) throw UNMATCHED;
  return uid;
}

function writeDataset(out: Output, dataset: DenaturalisedDataset): void {
  for (const tag of Object.keys(dataset).sort()) writeElement(out, tag, dataset[tag]);
}

function writeElement(out: Output, tag: string, element: DenaturalisedDataset[string]): void {
  if (!TAG.test(tag) || typeof element !== 'object' || element === null || element._rawValue) throw UNMATCHED;
  const { vr } = element;
  const kind = typeof vr === 'string' ? KINDS[vr] : undefined;
  const value = element.Value;
  if (!kind || (value !== null && !Array.isArray(value))) throw UNMATCHED;
  const values = value as unknown[] | null;

  out.u16(parseInt(tag.slice(0, 4), 16)); out.u16(parseInt(tag.slice(4), 16));
  out.ascii(vr!);
  const long = LENGTH_32.has(vr!);
  if (long) out.u16(0);
  const lengthAt = out.pos;
  if (long) out.u32(0); else out.u16(0);
  const start = out.pos;

  switch (kind.how) {
    case 'ascii': writeAscii(out, kind, values); break;
    case 'utf8': writeUtf8(out, values); break;
    case 'pn': writePersonName(out, values); break;
    case 'int': case 'float': writeNumbers(out, kind, values); break;
    case 'sq': writeSequence(out, values); break;
  }

  const length = out.pos - start;
  if (kind.how === 'sq') out.view.setUint32(lengthAt, 0xffffffff, true);
  else if (long) out.view.setUint32(lengthAt, length, true);
  // dcmjs writes a 16-bit-length value of 64 KiB or more as UN with a 32-bit length: not modelled.
  else if (length >= 0x10000) throw UNMATCHED;
  else out.view.setUint16(lengthAt, length, true);
}

function writeAscii(out: Output, kind: Extract<Kind, { how: 'ascii' }>, values: unknown[] | null): void {
  if (values === null) return;
  const start = out.pos;
  for (let i = 0; i < values.length; i++) {
    const raw = values[i];
    let text: string;
    if (kind.format) text = kind.format(raw);
    else if (typeof raw === 'string') text = raw;
    else throw UNMATCHED;
    const limit = kind.rangeMaxLength !== undefined && text.includes('-') ? kind.rangeMaxLength : kind.maxLength;
    // Past its maximum dcmjs throws ("Value exceeds max length"): let it, on the fallback path.
    if (limit !== undefined && text.length > limit) throw UNMATCHED;
    if (i > 0) out.u8(BACKSLASH);
    out.latin1(text);
  }
  if ((out.pos - start) & 1) out.u8(kind.pad);
}

function writeUtf8(out: Output, values: unknown[] | null): void {
  if (values === null) return;
  const start = out.pos;
  for (let i = 0; i < values.length; i++) {
    const text = values[i];
    if (typeof text !== 'string') throw UNMATCHED;
    if (i > 0) out.u8(BACKSLASH);
    out.utf8(text);
  }
  if ((out.pos - start) & 1) out.u8(SPACE);
}

/**
 * dcmjs's pnObjectToString (falsy values dropped, groups joined by '=' without trailing ones),
 * then its checkLength. denaturalizeDataset boxes a PN given as a string (`new String`, with
 * dcmjs's accessors): a boxed empty name is truthy, so it is kept, as an empty value.
 */
function writePersonName(out: Output, values: unknown[] | null): void {
  const text = (values ?? [null]).filter(Boolean).map((v) => {
    if (typeof v === 'string') return v;
    if (v instanceof String) return String.prototype.valueOf.call(v);
    if (typeof v !== 'object' || Array.isArray(v)) throw UNMATCHED;
    const { Alphabetic, Ideographic, Phonetic } = v as Record<string, unknown>;
    for (const group of [Alphabetic, Ideographic, Phonetic]) if (group !== undefined && group !== null && typeof group !== 'string') throw UNMATCHED;
    return [Alphabetic ?? '', Ideographic ?? '', Phonetic ?? ''].join('=').replace(/=*$/, '');
  }).join('\\');
  // Any component past 64 characters: dcmjs throws.
  for (const name of text.split('\\')) for (const component of name.split('=')) if (component.length > 64) throw UNMATCHED;
  const start = out.pos;
  out.utf8(text);
  if ((out.pos - start) & 1) out.u8(SPACE);
}

function writeNumbers(out: Output, kind: Extract<Kind, { how: 'int' | 'float' }>, values: unknown[] | null): void {
  if (values === null) return;
  for (const raw of values) {
    if (typeof raw !== 'string' && typeof raw !== 'number') throw UNMATCHED;
    let number: number;
    if (kind.how === 'int') {
      // dcmjs's toInt throws on what is not a number.
      if (Number.isNaN(Number(raw))) throw UNMATCHED;
      number = typeof raw === 'string' ? parseInt(raw) : raw;
    } else {
      number = typeof raw === 'string' ? parseFloat(raw) : raw;
    }
    out.ensure(kind.size);
    out.view[kind.set](out.pos, number, true);
    out.pos += kind.size;
  }
}

function writeSequence(out: Output, items: unknown[] | null): void {
  for (const item of items ?? []) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw UNMATCHED;
    out.u16(0xfffe); out.u16(0xe000); out.u32(0xffffffff);
    writeDataset(out, item as DenaturalisedDataset);
    out.u16(0xfffe); out.u16(0xe00d); out.u32(0);
  }
  out.u16(0xfffe); out.u16(0xe0dd); out.u32(0);
}

/** dcmjs's DecimalString.convertToString: a number past 16 characters cut to 16, in scientific notation when that keeps more. */
function decimalString(value: unknown): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value !== 'number') throw UNMATCHED;
  const text = String(value);
  if (text.length <= 16) return text;
  const signChars = value < 0 ? 1 : 0;
  const log = Math.log10(Math.abs(value));
  if (log < -4 || log >= 14 - signChars) {
    const cut = value.toExponential(16 - signChars);
    return cut.length <= 16 ? cut : value.toExponential(16 - (cut.length - 16) - signChars);
  }
  const cut = value.toFixed(16 - signChars);
  return cut.length <= 16 ? cut : value.toFixed(16 - signChars - (cut.length - 16));
}

/** dcmjs's IntegerString.convertToString. */
function integerString(value: unknown): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value !== 'number') throw UNMATCHED;
  return String(value);
}

/** A growing byte buffer written front to back. */
class Output {
  buffer: Buffer;
  view: DataView;
  pos = 0;

  constructor(size: number) {
    this.buffer = Buffer.allocUnsafe(size);
    this.view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength);
  }

  ensure(bytes: number): void {
    if (this.pos + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.pos + bytes));
    this.buffer.copy(grown, 0, 0, this.pos);
    this.buffer = grown;
    this.view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
  }

  u8(value: number): void {
    this.ensure(1);
    this.buffer[this.pos++] = value;
  }

  u16(value: number): void {
    this.ensure(2);
    this.view.setUint16(this.pos, value, true);
    this.pos += 2;
  }

  u32(value: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, value, true);
    this.pos += 4;
  }

  zeros(count: number): void {
    this.ensure(count);
    this.buffer.fill(0, this.pos, this.pos + count);
    this.pos += count;
  }

  /** One byte per UTF-16 unit, its low byte (dcmjs's writeAsciiString through DataView.setUint8). */
  latin1(text: string): void {
    this.ensure(text.length);
    for (let i = 0; i < text.length; i++) this.buffer[this.pos + i] = text.charCodeAt(i) & 0xff;
    this.pos += text.length;
  }

  ascii(text: string): void {
    this.latin1(text);
  }

  /** UTF-8, lone surrogates as U+FFFD (as TextEncoder, which dcmjs uses, encodes them). */
  utf8(text: string): void {
    this.ensure(text.length * 3);
    this.pos += this.buffer.write(text, this.pos, 'utf8');
  }

  /** A copy of what was written, in an ArrayBuffer of its own (as dcmjs returns it). */
  bytes(): Uint8Array {
    return new Uint8Array(this.buffer.subarray(0, this.pos));
  }
}
