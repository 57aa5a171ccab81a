import dcmjs from 'dcmjs';
import type { DataSet } from 'dicom-parser';
import type { DicomJsonAttribute, DicomJsonDataset } from '../contract/dicomweb-query.ts';
import type { ImageAttributes } from './attributes.ts';
import { textDecoderFor } from './charset.ts';
import { describeThrown, DicomError } from './errors.ts';
import { parseDicom } from './parse.ts';

/**
 * An instance's attributes in the DICOM JSON model (PS3.18 Annex F.2), what QIDO-RS and
 * WADO-RS metadata answer: every attribute of the data set (not the file meta group), with
 * binary values over BULK_DATA_INLINE_BYTES — Pixel Data always — as a BulkDataURI relative
 * to the instance (`bulk/<tag>`, or `bulk/<sequence>.<item>.<tag>` inside sequences, one path
 * segment so one route serves them; made absolute when presented), smaller ones
 * inline as base64. Text comes out as Unicode (dcmjs decodes the character set, and says so
 * by setting Specific Character Set to ISO_IR 192, which is what a JSON text is).
 *
 * Bounded: a data set whose JSON exceeds DICOM_JSON_MAX_CHARS (a hostile SR with a huge
 * content tree) keeps its identifying attributes; the largest others are left out until it
 * fits, and their tags are returned in `omitted` so the metadata answer can say so (a
 * Warning header) and the client can retrieve the instance itself for them.
 *
 * Over 300 lines because reading a stored object, modelling that read for a data set Lantern
 * writes (dicomJsonOfWritten) and working around dcmjs's reader share the dcmjs internals typed here.
 */

/** Binary values up to this many bytes are inlined; larger ones become a BulkDataURI. */
export const BULK_DATA_INLINE_BYTES = 1024;
/** The largest DICOM JSON kept for one instance: 1 MiB of text. */
export const DICOM_JSON_MAX_CHARS = 1024 * 1024;

/** Never left out: without them the dataset cannot be placed or served. */
const KEPT = new Set(['00080016', '00080018', '0020000D', '0020000E', '00080060', '00200013', '00280010', '00280011', '00280008']);
const BINARY_VRS = new Set(['OB', 'OW', 'OF', 'OD', 'OL', 'OV', 'UN']);
const PIXEL_DATA_TAG = '7FE00010';

export interface InstanceDicomJson {
  dataset: DicomJsonDataset;
  /** Tags left out to stay within DICOM_JSON_MAX_CHARS; empty when nothing was. */
  omitted: string[];
}

/** dcmjs's attribute as its reader gives it (the library ships no typings). */
interface DcmjsElement {
  vr?: string;
  Value?: unknown[];
}
type DcmjsDict = Record<string, DcmjsElement>;
interface DcmjsReader {
  data: {
    DicomMessage: {
      readFile(buffer: ArrayBuffer, options: { ignoreErrors: boolean; noCopy: boolean; untilTag: null; includeUntilTagValue: boolean }): { dict: DcmjsDict };
      _read(stream: unknown, syntax: string, options: { ignoreErrors: boolean; untilTag: null; includeUntilTagValue: boolean; stopOnGreaterTag: boolean }): DcmjsDict;
    };
    ReadBufferStream: {
      new (buffer: ArrayBuffer, littleEndian?: boolean | null, options?: { noCopy: boolean }): DcmjsReadStream;
      prototype: DcmjsReadStream;
    };
    DicomMetaDictionary: { nameMap: Record<string, { tag: string } | undefined> };
    ValueRepresentation: { createByTypeString(type: string): DcmjsValueRepresentation };
  };
}
/** dcmjs's read stream: `more` cuts the next bytes off as a stream of their own (a sequence item). */
interface DcmjsReadStream {
  decoder: TextDecoder;
  setDecoder(decoder: TextDecoder): void;
  more(length: number): DcmjsReadStream;
}
/** One of dcmjs's value representations: how its reader pads, splits and formats a value. */
interface DcmjsValueRepresentation {
  type: string;
  padByte: number;
  applyFormatting(value: unknown): unknown;
  dropPadByte(values: string[]): string[];
  convertToString?(value: unknown): string;
}
const { DicomMessage, ReadBufferStream, DicomMetaDictionary, ValueRepresentation } = (dcmjs as unknown as DcmjsReader).data;

const IMPLICIT_LITTLE = '1.2.840.10008.1.2';
const EXPLICIT_BIG = '1.2.840.10008.1.2.2';
const EXPLICIT_LITTLE = '1.2.840.10008.1.2.1';

/**
 * The DICOM JSON of a stored object. `transferSyntaxUid` and `hasPart10Header` are what the
 * project's parser found: an object without a Part 10 header (raw C-STORE payloads, old
 * exports) is read as a bare data set in that syntax. Throws DicomError (DICOM_JSON_FAILED)
 * when dcmjs cannot read what Lantern's parser accepted (e.g. an ISO 2022 character set with
 * code extensions): the caller falls back to the attributes it stored itself.
 */
export function dicomJsonOf(bytes: Uint8Array, transferSyntaxUid: string, hasPart10Header: boolean): InstanceDicomJson {
  return withinCap(datasetOf(readDict(bytes, transferSyntaxUid, hasPart10Header), ''));
}

/** The DICOM JSON, or null when dcmjs cannot read what Lantern's parser accepted (DICOM_JSON_FAILED): the caller stores the object without it. */
export function readableDicomJson(bytes: Uint8Array, transferSyntaxUid: string, hasPart10Header: boolean): InstanceDicomJson | null {
  try {
    return dicomJsonOf(bytes, transferSyntaxUid, hasPart10Header);
  } catch (error) {
    if (error instanceof DicomError) return null;
    throw error;
  }
}

/**
 * The value a BulkDataURI's path (`7FE00010`, `0040A730.0.00420011`) names in the stored
 * object, as its bytes (fragments of encapsulated data concatenated); undefined when the path
 * names no binary value there.
 */
export function bulkValueOf(bytes: Uint8Array, transferSyntaxUid: string, hasPart10Header: boolean, path: string): Uint8Array | undefined {
  const steps = path.toUpperCase().split('.');
  let dict: DcmjsDict | undefined = readDict(bytes, transferSyntaxUid, hasPart10Header);
  for (let i = 0; i < steps.length - 1 && dict; i += 2) {
    const item: unknown = findElement(dict, steps[i])?.Value?.[Number(steps[i + 1])];
    dict = typeof item === 'object' && item !== null && !(item instanceof ArrayBuffer) ? item as DcmjsDict : undefined;
  }
  const element = dict && findElement(dict, steps[steps.length - 1]);
  const chunks = (element?.Value ?? []).filter(isBinary).map(bytesOf);
  return chunks.length ? new Uint8Array(Buffer.concat(chunks)) : undefined;
}

/**
 * The DICOM JSON of a data set as dcmjs writes it (a denaturalised data set: tag → `{ vr, Value }`),
 * equal to `dicomJsonOf` of the bytes written, without reading them back: each value becomes
 * what dcmjs's reader would give for it (text joined at backslashes, padded to even length,
 * unpadded, split and trimmed as the VR's reader does; DS and IS as numbers, FL at single
 * precision, PN as its groups, an empty number as the reader's default), then the same model
 * rules as dicomJsonOf. Undefined when the data set has a VR whose reading is not modelled
 * here (AT, UV, SV, OV and the like): the caller reads the written bytes instead.
 */
export function dicomJsonOfWritten(dict: Record<string, unknown>): InstanceDicomJson | undefined {
  const read = asRead(dict as DcmjsDict);
  return read && withinCap(datasetOf(read, ''));
}

const NUMBER_VRS = new Set(['FD', 'SL', 'SS', 'UL', 'US']);
/** Binary values dcmjs reads back as the one buffer it wrote (UN is not: its reader re-reads it in the dictionary's VR). */
const BINARY_VRS_WRITTEN = new Set(['OB', 'OW', 'OF', 'OD', 'OL']);
/** Text VRs dcmjs writes as one string with values joined by backslashes, and reads back split (LT is read whole). */
const TEXT_VRS_WRITTEN = new Set(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT']);
const PADDED_READS = new Set(['UI', 'PN']);
const SPLIT_WHEN_READ = new Set(['CS', 'DS', 'IS']);

function asRead(dict: DcmjsDict): DcmjsDict | undefined {
  const read: DcmjsDict = {};
  for (const [tag, element] of Object.entries(dict)) {
    const vr = element.vr ?? 'UN';
    const values = element.Value === undefined ? [] : Array.isArray(element.Value) ? element.Value : [element.Value];
    const Value = tag.toUpperCase() === '00080005' && values.length > 0 ? ['ISO_IR 192'] : valuesAsRead(vr, values);
    if (!Value) return undefined;
    read[tag] = { vr, Value };
  }
  return read;
}

function valuesAsRead(vr: string, values: unknown[]): unknown[] | undefined {
  if (vr === 'SQ') {
    const items = values.map((item) => asRead(item as DcmjsDict));
    return items.every((item) => item !== undefined) ? items : undefined;
  }
  if (BINARY_VRS_WRITTEN.has(vr)) return values;
  // An empty fixed-length number reads as the VR's default, 0.
  if (vr === 'FL') return values.length ? values.map((v) => Math.fround(Number(v))) : [0];
  if (NUMBER_VRS.has(vr)) return values.length ? values.map(Number) : [0];
  if (!TEXT_VRS_WRITTEN.has(vr)) return undefined;
  return textAsRead(ValueRepresentation.createByTypeString(vr), values);
}

/** A text element as dcmjs writes (one string, padded to an even byte length) and then reads it (DicomMessage._readTag). */
function textAsRead(representation: DcmjsValueRepresentation, values: unknown[]): unknown[] {
  const { type } = representation;
  const text = type === 'PN' ? personNameText(values)
    : values.map((v) => (representation.convertToString ? representation.convertToString(v) : String(v ?? ''))).join('\\');
  const padded = Buffer.byteLength(text) % 2 ? `${text}${String.fromCharCode(representation.padByte)}` : text;
  let raw: string | string[] = PADDED_READS.has(type) && padded.endsWith(String.fromCharCode(representation.padByte)) ? padded.slice(0, -1) : padded;
  if (SPLIT_WHEN_READ.has(type) || (type === 'UI' && raw.includes('\\'))) raw = representation.dropPadByte(raw.split('\\'));
  const formatted = representation.applyFormatting(raw);
  if (typeof formatted === 'string' && type !== 'LT') return representation.dropPadByte(formatted.split('\\'));
  return Array.isArray(formatted) ? formatted : [formatted];
}

/** Person names as dcmjs writes them (its pnObjectToString): groups joined by `=` without trailing ones, values by backslashes. */
function personNameText(values: unknown[]): string {
  return values.filter(Boolean).map((v) => {
    if (typeof v === 'string' || v instanceof String) return String(v);
    const { Alphabetic = '', Ideographic = '', Phonetic = '' } = v as Record<string, string | undefined>;
    return [Alphabetic, Ideographic, Phonetic].join('=').replace(/=*$/, '');
  }).join('\\');
}

const findElement = (dict: DcmjsDict, tag: string) => dict[tag] ?? dict[tag.toLowerCase()];

function readDict(bytes: Uint8Array, transferSyntaxUid: string, hasPart10Header: boolean): DcmjsDict {
  const read = (ignoreErrors: boolean) => readingItemsInTheirCharacterSet(() => {
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    return hasPart10Header
      ? DicomMessage.readFile(buffer, { ignoreErrors, noCopy: true, untilTag: null, includeUntilTagValue: false }).dict
      : DicomMessage._read(new ReadBufferStream(buffer, null, { noCopy: true }), bareSyntax(transferSyntaxUid),
        { ignoreErrors, untilTag: null, includeUntilTagValue: false, stopOnGreaterTag: false });
  });
  try {
    return read(false);
  } catch (error) {
    // ISO 2022 with code extensions (GB2312, Korean, Japanese: chrGB2312.dcm) is refused by dcmjs's
    // strict read; read leniently for the structure, then take the text from Lantern's own decoder.
    if (/multiple character sets/i.test(describeThrown(error))) return withLanternText(read(true), bytes);
    throw new DicomError(`dcmjs could not read the data set for its DICOM JSON: ${describeThrown(error)}`, 'DICOM_JSON_FAILED', { cause: error });
  }
}

/**
 * Runs a dcmjs read whose sequence items decode text in the character set of the data set that
 * holds them, unless they have their own (PS3.5 §7.5). dcmjs 0.51 reads each item from a stream of its own
 * (`more`) that starts out Latin-1 whatever Specific Character Set said (dcmjs-org/dcmjs#503, #508),
 * so an SR's content tree came out as mojibake: here an item's stream starts with its parent's
 * decoder instead. An item with its own Specific Character Set still switches its stream (dcmjs's
 * _read does), for itself and the items inside it (pydicom reads them so; dcm2json 3.6.7 ignores an
 * item's own set). Reads are synchronous, so no other read in this thread runs while `more` is replaced.
 */
function readingItemsInTheirCharacterSet<T>(read: () => T): T {
  const streams = ReadBufferStream.prototype;
  const own = Object.getOwnPropertyDescriptor(streams, 'more');
  const cut = streams.more;
  streams.more = function more(this: DcmjsReadStream, length: number) {
    const item = cut.call(this, length);
    item.setDecoder(this.decoder);
    return item;
  };
  try {
    return read();
  } finally {
    if (own) Object.defineProperty(streams, 'more', own);
    else delete (streams as Partial<DcmjsReadStream>).more;
  }
}

const TEXT_VRS = new Set(['PN', 'LO', 'SH', 'ST', 'LT', 'UT', 'UC']);

/**
 * The data set's text values decoded by dicom/charset.ts (which strips ISO 2022 escapes of G1
 * sets), replacing what dcmjs decoded with only the first character set; person names split into
 * their alphabetic, ideographic and phonetic groups. Items are decoded alike, in their own
 * Specific Character Set if they have one (PS3.5 §7.5).
 */
function withLanternText(dict: DcmjsDict, bytes: Uint8Array): DcmjsDict {
  const { dataSet } = parseDicom(bytes);
  decodeText(dict, dataSet, undefined);
  return dict;
}

function decodeText(dict: DcmjsDict, dataSet: DataSet, inherited: string | undefined): void {
  const characterSet = dataSet.string('x00080005') ?? inherited;
  const decode = textDecoderFor(characterSet);
  for (const [key, element] of Object.entries(dict)) {
    const own = dataSet.elements[`x${key.toLowerCase()}`];
    if (!own || !element.vr) continue;
    if (element.vr === 'SQ') {
      // dcmjs leaves out empty items, the parser does not: pair them only when they are the same items.
      const items = element.Value ?? [];
      if (own.items?.length === items.length) own.items.forEach((item, i) => item.dataSet && decodeText(items[i] as DcmjsDict, item.dataSet, characterSet));
      continue;
    }
    if (!TEXT_VRS.has(element.vr) || own.length <= 0) continue;
    const text = decode(dataSet.byteArray.subarray(own.dataOffset, own.dataOffset + own.length)).split('\0', 1)[0];
    const values = element.vr === 'LT' || element.vr === 'ST' || element.vr === 'UT' ? [text] : text.split('\\').map((v) => v.trim());
    element.Value = element.vr === 'PN'
      ? values.map((v) => Object.fromEntries(['Alphabetic', 'Ideographic', 'Phonetic'].map((group, i) => [group, v.split('=')[i] ?? ''])))
      : values;
  }
  if (dict['00080005']) dict['00080005'] = { vr: 'CS', Value: ['ISO_IR 192'] };
}

/** A bare data set's syntax as dcmjs reads it: encapsulated ones are explicit little endian. */
function bareSyntax(transferSyntaxUid: string): string {
  return transferSyntaxUid === IMPLICIT_LITTLE || transferSyntaxUid === EXPLICIT_BIG ? transferSyntaxUid : EXPLICIT_LITTLE;
}

/** `path` locates an item's attributes for their BulkDataURI: `<tag>.<item>.` per enclosing sequence (empty at the top). */
function datasetOf(dict: DcmjsDict, path: string): DicomJsonDataset {
  const dataset: DicomJsonDataset = {};
  for (const key of Object.keys(dict).sort()) {
    const tag = key.toUpperCase();
    // Group lengths are deprecated and meaningless once re-encoded (PS3.5 §7.2).
    if (tag.endsWith('0000')) continue;
    dataset[tag] = attributeOf(dict[key], tag, `${path}${tag}`);
  }
  return dataset;
}

function attributeOf(element: DcmjsElement, tag: string, path: string): DicomJsonAttribute {
  const vr = element.vr && element.vr.length === 2 ? element.vr : tag === PIXEL_DATA_TAG ? 'OB' : 'UN';
  const values = Array.isArray(element.Value) ? element.Value : element.Value === undefined ? [] : [element.Value];
  if (BINARY_VRS.has(vr) || tag === PIXEL_DATA_TAG) {
    const chunks = values.filter(isBinary);
    const size = chunks.reduce((n, c) => n + c.byteLength, 0);
    if (size === 0) return { vr };
    if (size > BULK_DATA_INLINE_BYTES || tag === PIXEL_DATA_TAG) return { vr, BulkDataURI: `bulk/${path}` };
    return { vr, InlineBinary: Buffer.concat(chunks.map(bytesOf)).toString('base64') };
  }
  if (vr === 'SQ') {
    const items = values.filter((v): v is DcmjsDict => typeof v === 'object' && v !== null);
    return items.length ? { vr, Value: items.map((item, i) => datasetOf(item, `${path}.${i}.`)) } : { vr };
  }
  const converted = values.map((v) => valueOf(vr, v));
  return converted.some((v) => v !== null) ? { vr, Value: converted } : { vr };
}

/** dcmjs gives binary values as ArrayBuffers, or views of the input with `noCopy`. */
const isBinary = (v: unknown): v is ArrayBuffer | ArrayBufferView => v instanceof ArrayBuffer || ArrayBuffer.isView(v);
const bytesOf = (c: ArrayBuffer | ArrayBufferView) => (c instanceof ArrayBuffer ? new Uint8Array(c) : new Uint8Array(c.buffer, c.byteOffset, c.byteLength));

/** One value as DICOM JSON wants it (PS3.18 F.2.3): numbers for numeric VRs, AT as hex, PN as its groups; empty → null. */
function valueOf(vr: string, value: unknown): unknown {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null;
    return vr === 'AT' ? value.toString(16).toUpperCase().padStart(8, '0') : value;
  }
  if (vr === 'PN') {
    if (typeof value === 'string') return { Alphabetic: value };
    const groups = Object.fromEntries(Object.entries(value as Record<string, unknown>)
      .filter(([k, v]) => ['Alphabetic', 'Ideographic', 'Phonetic'].includes(k) && typeof v === 'string' && v !== ''));
    return Object.keys(groups).length ? groups : null;
  }
  if (vr === 'AT' && typeof value === 'string') return value.replace(/[^0-9a-fA-F]/g, '').toUpperCase();
  return typeof value === 'string' ? value : String(value);
}

/** Leaves out the largest attributes (never the KEPT ones) until the JSON fits DICOM_JSON_MAX_CHARS. */
function withinCap(dataset: DicomJsonDataset): InstanceDicomJson {
  const sizes = Object.entries(dataset).map(([tag, attribute]) => ({ tag, size: JSON.stringify(attribute).length + tag.length + 4 }));
  let total = sizes.reduce((n, s) => n + s.size, 2);
  if (total <= DICOM_JSON_MAX_CHARS) return { dataset, omitted: [] };
  const omitted: string[] = [];
  for (const { tag, size } of sizes.filter((s) => !KEPT.has(s.tag)).sort((a, b) => b.size - a.size)) {
    if (total <= DICOM_JSON_MAX_CHARS) break;
    delete dataset[tag];
    omitted.push(tag);
    total -= size;
  }
  return { dataset, omitted: omitted.sort() };
}

/** A PS3.6 keyword's tag as DICOM JSON keys it (`PatientName` → `00100010`), from dcmjs's copy of the dictionary. */
export function tagOfKeyword(keyword: string): string | undefined {
  const entry = Object.hasOwn(DicomMetaDictionary.nameMap, keyword) ? DicomMetaDictionary.nameMap[keyword] : undefined;
  const tag = entry?.tag.replace(/[^0-9A-Fa-f]/g, '').toUpperCase();
  return tag && tag.length === 8 ? tag : undefined;
}

/** JPEG 2000 and HTJ2K: their decoders undo the YBR_ICT / YBR_RCT colour transform. */
const JPEG_2000_FAMILY = new Set(['1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.4.91', '1.2.840.10008.1.2.4.201', '1.2.840.10008.1.2.4.202', '1.2.840.10008.1.2.4.203']);

/**
 * What the frames Lantern serves are (api/frame-answer.ts: decoded stored values,
 * little-endian, interleaved), as pixel-module attributes that replace the stored ones in
 * WADO-RS metadata, so that a client decoding `/frames` with the metadata sees the right image.
 * The decoders (dicom/decode) turn JPEG baseline colour, and JPEG 2000 / HTJ2K YBR_ICT/RCT, into RGB,
 * uncompressed YBR_FULL_422 into YBR_FULL, planes into interleaved samples, and move the
 * stored bits down to bit 0. The stored object itself is unchanged: its syntax is in
 * Available Transfer Syntax UID (0008,3002), what instance retrieve sends.
 */
export function servedPixelModule(image: ImageAttributes, storedTransferSyntaxUid: string): DicomJsonDataset {
  const colour = image.samplesPerPixel === 3;
  const jpeg = storedTransferSyntaxUid === '1.2.840.10008.1.2.4.50' || storedTransferSyntaxUid === '1.2.840.10008.1.2.4.51';
  const jpeg2000 = JPEG_2000_FAMILY.has(storedTransferSyntaxUid);
  const pi = image.photometricInterpretation;
  const served = colour && (jpeg || (jpeg2000 && pi.startsWith('YBR_'))) ? 'RGB'
    : pi === 'YBR_FULL_422' && image.bitsAllocated === 8 && !jpeg ? 'YBR_FULL' : pi;
  return {
    '00020010': { vr: 'UI', Value: [EXPLICIT_LITTLE] },
    '00083002': { vr: 'UI', Value: [storedTransferSyntaxUid] },
    '00280004': { vr: 'CS', Value: [served] },
    '00280100': { vr: 'US', Value: [image.bitsAllocated] },
    '00280101': { vr: 'US', Value: [image.bitsStored] },
    '00280102': { vr: 'US', Value: [image.bitsStored - 1] },
    '00280103': { vr: 'US', Value: [image.pixelRepresentation] },
    ...(colour && { '00280006': { vr: 'US', Value: [0] } }),
  };
}
