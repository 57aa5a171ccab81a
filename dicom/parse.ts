import dicomParser from 'dicom-parser';
import type { DataSet, Element } from 'dicom-parser';
import { inflateRaw } from 'pako';
import { textDecoderFor, type TextDecodeFn } from './charset.ts';
import { DicomError, describeThrown, InvalidDicomError } from './errors.ts';

export interface DicomInstance {
  /** The bytes as received; for deflated files `dataSet.byteArray` holds the inflated copy. */
  bytes: Uint8Array;
  dataSet: DataSet;
  transferSyntaxUid: string;
  hasPart10Header: boolean;
  meta: InstanceMeta;
}

export interface InstanceMeta {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  sopClassUid: string;
  modality?: string;
  patientId?: string;
  patientName?: string;
  patientSex?: string;
  patientAge?: string;
  patientBirthDate?: string;
  studyDate?: string;
  studyTime?: string;
  studyDescription?: string;
  accessionNumber?: string;
  seriesNumber?: number;
  instanceNumber?: number;
  bodyPartExamined?: string;
  viewPosition?: string;
  /** Image Type (0008,0008) values, e.g. ORIGINAL, PRIMARY, LOCALIZER. */
  imageType?: string[];
  /** Absent when there is no Pixel Data. */
  image?: ImageAttributes;
}

export interface ImageAttributes {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  photometricInterpretation: string;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  pixelRepresentation: 0 | 1;
  planarConfiguration: 0 | 1;
  numberOfFrames: number;
  rescaleSlope: number;
  rescaleIntercept: number;
  windowCenter?: number;
  windowWidth?: number;
  /** [row spacing, column spacing] in mm. */
  pixelSpacing?: [number, number];
}

export const TS = {
  implicitLittle: '1.2.840.10008.1.2',
  explicitLittle: '1.2.840.10008.1.2.1',
  deflatedLittle: '1.2.840.10008.1.2.1.99',
  explicitBig: '1.2.840.10008.1.2.2',
} as const;

const PIXEL_DATA = 'x7fe00010';
const NATIVE_SYNTAXES = new Set<string>(Object.values(TS));

/** Parses and validates one instance; anything we would not store throws InvalidDicomError. */
export function parseDicom(bytes: Uint8Array): DicomInstance {
  if (bytes.length === 0) throw new InvalidDicomError('Not DICOM: the input is empty');
  const hasPart10Header = hasDicmPrefix(bytes);
  const rawSyntax = hasPart10Header ? undefined : guessRawTransferSyntax(bytes);
  const dataSet = runParser(bytes, rawSyntax);
  checkElementsWithinData(dataSet);
  return wrapParserThrows(() => {
    const transferSyntaxUid = readTransferSyntax(dataSet, rawSyntax);
    const meta = readMeta(dataSet, textDecoderFor(dataSet.string('x00080005')));
    if (meta.image) checkPixelDataLength(dataSet, meta.image, transferSyntaxUid);
    return { bytes, dataSet, transferSyntaxUid, hasPart10Header, meta };
  });
}

export function requirePixelData(instance: DicomInstance): ImageAttributes {
  if (!instance.meta.image) {
    throw new InvalidDicomError(
      `Instance has no Pixel Data (7FE0,0010); SOP Class ${instance.meta.sopClassUid} is not an image`,
      { code: 'NO_PIXEL_DATA' },
    );
  }
  return instance.meta.image;
}

function hasDicmPrefix(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && String.fromCharCode(...bytes.subarray(128, 132)) === 'DICM';
}

/**
 * Files without a preamble (old ACR-NEMA style exports, raw C-STORE payloads) carry no
 * transfer syntax, so it is inferred from the first element: a plausible group number
 * tells the byte order, and two upper-case letters where a VR would be tell explicitness.
 */
function guessRawTransferSyntax(bytes: Uint8Array): string {
  if (bytes.length < 8) throw new InvalidDicomError(`Not DICOM: only ${bytes.length} bytes`);
  const plausibleGroups = new Set([0x0000, 0x0002, 0x0004, 0x0008]);
  const groupLE = bytes[0] | (bytes[1] << 8);
  const groupBE = (bytes[0] << 8) | bytes[1];
  const looksExplicit = isUpper(bytes[4]) && isUpper(bytes[5]);
  if (plausibleGroups.has(groupLE) && groupLE !== 0) {
    return looksExplicit ? TS.explicitLittle : TS.implicitLittle;
  }
  if (plausibleGroups.has(groupBE) && groupBE !== 0 && looksExplicit) return TS.explicitBig;
  throw new InvalidDicomError(
    "Not DICOM: no 'DICM' marker at byte 128 and the data does not start with a DICOM element",
  );
}

function isUpper(byte: number): boolean {
  return byte >= 0x41 && byte <= 0x5a;
}

function runParser(bytes: Uint8Array, rawSyntax: string | undefined): DataSet {
  return wrapParserThrows(() =>
    dicomParser.parseDicom(bytes, { TransferSyntaxUID: rawSyntax, inflater: inflate }),
  );
}

/** dicom-parser reads values lazily, so its string and object throws can surface after parsing too. */
function wrapParserThrows<T>(run: () => T): T {
  try {
    return run();
  } catch (thrown) {
    if (thrown instanceof DicomError) throw thrown;
    const reason = describeThrown(thrown);
    const truncated = /overrun|past end|maxPosition|end of (buffer|stream)|out of range/i.test(reason);
    throw new InvalidDicomError(
      truncated ? `Truncated DICOM: ${reason}` : `Malformed DICOM: ${reason}`,
      { code: truncated ? 'TRUNCATED_DICOM' : 'INVALID_DICOM', cause: thrown },
    );
  }
}

/** A cut inside any element (not only Pixel Data) leaves dicom-parser with a length past the end. */
function checkElementsWithinData(dataSet: DataSet): void {
  const end = dataSet.byteArray.length;
  for (const element of Object.values(dataSet.elements)) {
    if (element.dataOffset + element.length > end) {
      throw truncated(`element ${element.tag} declares ${element.length} bytes but the data ends first`);
    }
  }
}

/** dicom-parser's own Node path needs a Buffer; pako works on any Uint8Array. */
function inflate(bytes: Uint8Array, position: number): Uint8Array {
  const inflated = inflateRaw(bytes.subarray(position));
  const whole = new Uint8Array(position + inflated.length);
  whole.set(bytes.subarray(0, position), 0);
  whole.set(inflated, position);
  return whole;
}

function readTransferSyntax(dataSet: DataSet, rawSyntax: string | undefined): string {
  const element = dataSet.elements.x00020010;
  // For raw files dicom-parser stores the syntax we passed as a synthetic `Value`.
  const uid = element && element.length > 0 ? dataSet.string('x00020010') : rawSyntax;
  if (!uid) {
    throw new InvalidDicomError('Malformed DICOM: no Transfer Syntax UID (0002,0010)', {
      code: 'MISSING_ATTRIBUTE',
    });
  }
  return uid;
}

function readMeta(dataSet: DataSet, decodeText: TextDecodeFn): InstanceMeta {
  const text = (tag: string) => readText(dataSet, tag, decodeText);
  const str = (tag: string) => dataSet.string(tag) || undefined;
  return {
    studyInstanceUid: requiredUid(dataSet, 'x0020000d', 'Study Instance UID (0020,000D)'),
    seriesInstanceUid: requiredUid(dataSet, 'x0020000e', 'Series Instance UID (0020,000E)'),
    sopInstanceUid: requiredUid(dataSet, 'x00080018', 'SOP Instance UID (0008,0018)'),
    sopClassUid:
      str('x00080016') ?? requiredUid(dataSet, 'x00020002', 'SOP Class UID (0008,0016)'),
    modality: str('x00080060'),
    patientId: text('x00100020'),
    patientName: text('x00100010'),
    patientSex: str('x00100040'),
    patientAge: str('x00101010'),
    patientBirthDate: str('x00100030'),
    studyDate: str('x00080020'),
    studyTime: str('x00080030'),
    studyDescription: text('x00081030'),
    accessionNumber: text('x00080050'),
    seriesNumber: dataSet.intString('x00200011'),
    instanceNumber: dataSet.intString('x00200013'),
    bodyPartExamined: str('x00180015'),
    viewPosition: str('x00185101'),
    imageType: str('x00080008')?.split('\\').map((v) => v.trim()).filter(Boolean),
    image: dataSet.elements[PIXEL_DATA] ? readImage(dataSet) : undefined,
  };
}

function requiredUid(dataSet: DataSet, tag: string, name: string): string {
  const uid = dataSet.string(tag);
  if (!uid) {
    throw new InvalidDicomError(`Invalid DICOM: required ${name} is missing or empty`, {
      code: 'MISSING_ATTRIBUTE',
    });
  }
  return uid;
}

function readText(dataSet: DataSet, tag: string, decodeText: TextDecodeFn): string | undefined {
  const element = dataSet.elements[tag];
  if (!element || element.length <= 0) return undefined;
  const raw = dataSet.byteArray.subarray(element.dataOffset, element.dataOffset + element.length);
  return decodeText(raw).trim() || undefined;
}

function readImage(dataSet: DataSet): ImageAttributes {
  const required = (tag: string, name: string) => {
    const value = dataSet.uint16(tag);
    if (!value) {
      throw new InvalidDicomError(`Invalid DICOM: Pixel Data present but ${name} is missing or zero`, {
        code: 'MISSING_ATTRIBUTE',
      });
    }
    return value;
  };
  const rows = required('x00280010', 'Rows (0028,0010)');
  const columns = required('x00280011', 'Columns (0028,0011)');
  const bitsAllocated = required('x00280100', 'Bits Allocated (0028,0100)');
  const bitsStored = dataSet.uint16('x00280101') || bitsAllocated;
  const samplesPerPixel = dataSet.uint16('x00280002') || 1;
  const photometricInterpretation =
    dataSet.string('x00280004') || (samplesPerPixel === 1 ? 'MONOCHROME2' : 'RGB');
  const pixelMeasures = functionalGroupItem(dataSet, 'x00289110');
  const transformation = functionalGroupItem(dataSet, 'x00289145');
  const voi = functionalGroupItem(dataSet, 'x00289132');
  return {
    rows,
    columns,
    samplesPerPixel,
    photometricInterpretation,
    bitsAllocated,
    bitsStored,
    highBit: dataSet.uint16('x00280102') ?? bitsStored - 1,
    pixelRepresentation: dataSet.uint16('x00280103') === 1 ? 1 : 0,
    planarConfiguration: dataSet.uint16('x00280006') === 1 ? 1 : 0,
    numberOfFrames: Math.max(1, dataSet.intString('x00280008') || 1),
    rescaleSlope: firstNumber([dataSet, transformation], 'x00281053') ?? 1,
    rescaleIntercept: firstNumber([dataSet, transformation], 'x00281052') ?? 0,
    windowCenter: firstNumber([dataSet, voi], 'x00281050'),
    windowWidth: firstNumber([dataSet, voi], 'x00281051'),
    pixelSpacing:
      spacing(dataSet, 'x00280030') ?? spacing(pixelMeasures, 'x00280030') ?? spacing(dataSet, 'x00181164'),
  };
}

/**
 * Enhanced multi-frame objects keep rescale, window and spacing in functional groups
 * rather than at the top level; the shared group applies to every frame, so it is the
 * one value that can stand for the instance.
 */
function functionalGroupItem(dataSet: DataSet, macroTag: string): DataSet | undefined {
  for (const groupsTag of ['x52009229', 'x52009230']) {
    const groups = dataSet.elements[groupsTag]?.items?.[0]?.dataSet;
    const item = groups?.elements[macroTag]?.items?.[0]?.dataSet;
    if (item) return item;
  }
  return undefined;
}

function firstNumber(sources: (DataSet | undefined)[], tag: string): number | undefined {
  for (const source of sources) {
    const value = source?.floatString(tag);
    if (value !== undefined && Number.isFinite(value)) return value;
  }
  return undefined;
}

function spacing(dataSet: DataSet | undefined, tag: string): [number, number] | undefined {
  const row = dataSet?.floatString(tag, 0);
  const column = dataSet?.floatString(tag, 1);
  if (row === undefined || column === undefined) return undefined;
  if (!(row > 0 && column > 0)) return undefined;
  return [row, column];
}

/**
 * dicom-parser happily returns a data set whose Pixel Data runs past the end of the
 * buffer; such a file would decode to garbage later, so it is rejected here.
 */
function checkPixelDataLength(dataSet: DataSet, image: ImageAttributes, transferSyntaxUid: string): void {
  const element: Element = dataSet.elements[PIXEL_DATA];
  const available = dataSet.byteArray.length - element.dataOffset;
  const native = NATIVE_SYNTAXES.has(transferSyntaxUid);
  if (native === Boolean(element.encapsulatedPixelData)) {
    throw new InvalidDicomError(
      `Malformed DICOM: transfer syntax ${transferSyntaxUid} is ${native ? 'uncompressed' : 'compressed'} ` +
        `but Pixel Data is ${native ? '' : 'not '}encapsulated`,
      { code: 'INVALID_PIXEL_DATA' },
    );
  }
  if (!native) {
    const fragments = element.fragments ?? [];
    const end = fragments.reduce((max, f) => Math.max(max, f.position + f.length), 0);
    if (fragments.length === 0 || end > dataSet.byteArray.length) {
      throw truncated(`encapsulated Pixel Data has ${fragments.length} fragment(s) ending past the data`);
    }
    return;
  }
  const expected = Math.ceil((nativeFrameBits(image) * image.numberOfFrames) / 8);
  const present = Math.min(element.length, available);
  if (present < expected) {
    throw truncated(`Pixel Data holds ${present} bytes but ${image.numberOfFrames} frame(s) of ` +
      `${image.rows}x${image.columns}x${image.samplesPerPixel} at ${image.bitsAllocated} bits need ${expected}`);
  }
}

/**
 * Bytes one uncompressed frame occupies. YBR_FULL_422 stores two luma samples per chroma
 * pair, so it needs two samples per pixel rather than three.
 */
export function nativeFrameBytes(image: ImageAttributes): number {
  return Math.ceil(nativeFrameBits(image) / 8);
}

function nativeFrameBits(image: ImageAttributes): number {
  const samples = image.photometricInterpretation === 'YBR_FULL_422' ? 2 : image.samplesPerPixel;
  return image.rows * image.columns * samples * image.bitsAllocated;
}

function truncated(detail: string): InvalidDicomError {
  return new InvalidDicomError(`Truncated DICOM: ${detail}`, { code: 'TRUNCATED_DICOM' });
}
