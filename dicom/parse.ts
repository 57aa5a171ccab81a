import dicomParser from 'dicom-parser';
import type { DataSet, Element } from 'dicom-parser';
import { PIXEL_DATA, readInstanceMeta, type ImageAttributes, type InstanceMeta } from './attributes.ts';
import { textDecoderFor } from './charset.ts';
import { DicomError, describeThrown, InvalidDicomError } from './errors.ts';
import { DEFAULT_DICOM_LIMITS, overLimit, RATIO_FLOOR_BYTES, type DicomLimits } from './limits.ts';
import { scanDicom } from './scan.ts';
import type { InstanceDicomJson } from './dicom-json.ts';

/**
 * Bytes to one instance Lantern will store: the container (preamble or none, byte order,
 * deflate) and the checks that the data set is whole and its Pixel Data fits the transfer
 * syntax, which dicom-parser does not make (it returns elements running past the end of the
 * bytes). The attributes themselves are read in `attributes.ts`.
 */

export interface DicomInstance {
  /** The bytes as received; for deflated files `dataSet.byteArray` holds the inflated copy. */
  bytes: Uint8Array;
  dataSet: DataSet;
  transferSyntaxUid: string;
  hasPart10Header: boolean;
  meta: InstanceMeta;
}

/**
 * What ingest needs of a parsed instance (the data set stays where it was parsed). The
 * off-thread parser also reads its DICOM JSON there (dicom/dicom-json.ts), so that no upload's
 * attributes are walked on the API's event loop: null when dcmjs could not read them, absent
 * when the parse did not try (in-process parses).
 */
export type ParsedInstance = Pick<DicomInstance, 'bytes' | 'transferSyntaxUid' | 'hasPart10Header' | 'meta'> & { dicomJson?: InstanceDicomJson | null };

export const TS = {
  implicitLittle: '1.2.840.10008.1.2',
  explicitLittle: '1.2.840.10008.1.2.1',
  deflatedLittle: '1.2.840.10008.1.2.1.99',
  explicitBig: '1.2.840.10008.1.2.2',
} as const;

const NATIVE_SYNTAXES = new Set<string>(Object.values(TS));

/**
 * Parses and validates one instance; anything we would not store throws InvalidDicomError
 * (DicomLimitError when it breaks one of `limits`). The element headers are walked within
 * the limits first (scan.ts), so dicom-parser only ever reads an object of bounded size.
 */
export function parseDicom(bytes: Uint8Array, limits: DicomLimits = DEFAULT_DICOM_LIMITS): DicomInstance {
  const startedAt = Date.now();
  if (bytes.length === 0) throw new InvalidDicomError('Not DICOM: the input is empty');
  const hasPart10Header = hasDicmPrefix(bytes);
  const rawSyntax = hasPart10Header ? undefined : guessRawTransferSyntax(bytes);
  const scanned = wrapParserThrows(() => scanDicom(bytes, rawSyntax, limits, startedAt));
  const dataSet = runParser(bytes, rawSyntax, scanned.bytes);
  checkElementsWithinData(dataSet);
  return wrapParserThrows(() => {
    const transferSyntaxUid = readTransferSyntax(dataSet, rawSyntax);
    const meta = readInstanceMeta(dataSet, textDecoderFor(dataSet.string('x00080005')));
    if (meta.image) {
      checkPixelDataLength(dataSet, meta.image, transferSyntaxUid);
      checkPixelBudget(dataSet, meta.image, transferSyntaxUid, limits);
    }
    if (Date.now() - startedAt > limits.parseDeadlineMs) {
      throw overLimit('parseDeadlineMs', limits, `parsing took longer than ${limits.parseDeadlineMs} ms`);
    }
    return { bytes, dataSet, transferSyntaxUid, hasPart10Header, meta };
  });
}

export function requirePixelData(instance: Pick<DicomInstance, 'meta'>): ImageAttributes {
  if (!instance.meta.image) {
    throw new InvalidDicomError(
      `Instance has no Pixel Data (7FE0,0010); SOP Class ${instance.meta.sopClassUid} is not an image`,
      { code: 'NO_PIXEL_DATA' },
    );
  }
  return instance.meta.image;
}

/** Whether the bytes start with a Part 10 preamble and `DICM` at byte 128. */
export function hasDicmPrefix(bytes: Uint8Array): boolean {
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

/** `inflated` is the scan's bounded inflation (the input itself when nothing is deflated). */
function runParser(bytes: Uint8Array, rawSyntax: string | undefined, inflated: Uint8Array): DataSet {
  return wrapParserThrows(() =>
    dicomParser.parseDicom(bytes, { TransferSyntaxUID: rawSyntax, inflater: () => inflated }),
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
 * What decoding will cost, bounded before any worker tries: one frame's decoded bytes, and
 * for encapsulated Pixel Data how far the fragments expand (an RLE frame of 16 MiB that
 * expands 64:1 once held a worker at 11 GB). Over either, the object is refused as bad input.
 */
function checkPixelBudget(dataSet: DataSet, image: ImageAttributes, transferSyntaxUid: string, limits: DicomLimits): void {
  const frameBytes = image.rows * image.columns * image.samplesPerPixel * Math.ceil(image.bitsAllocated / 8);
  if (frameBytes > limits.maxDecodedFrameBytes) {
    throw overLimit('maxDecodedFrameBytes', limits, `one ${image.rows}x${image.columns}x${image.samplesPerPixel} frame at ${image.bitsAllocated} bits decodes to ${frameBytes} bytes`);
  }
  if (NATIVE_SYNTAXES.has(transferSyntaxUid)) return;
  const decoded = frameBytes * image.numberOfFrames;
  const encoded = (dataSet.elements[PIXEL_DATA].fragments ?? []).reduce((sum, f) => sum + f.length, 0);
  if (decoded > RATIO_FLOOR_BYTES && decoded > encoded * limits.maxDecompressionRatio) {
    throw overLimit('maxDecompressionRatio', limits, `${encoded} encoded bytes of Pixel Data decode to ${decoded} bytes`);
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
