import type { DataSet } from 'dicom-parser';
import type { TextDecodeFn } from './charset.ts';
import { InvalidDicomError } from './errors.ts';

/**
 * What Lantern reads from a parsed data set: the identifiers and descriptions of every instance
 * and, when it holds Pixel Data, what its image needs to be decoded and shown. A required UID or
 * image dimension that is missing rejects the instance here, before anything stores it.
 */

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

/** Pixel Data (7FE0,0010): an instance with it is an image. */
export const PIXEL_DATA = 'x7fe00010';

export function readInstanceMeta(dataSet: DataSet, decodeText: TextDecodeFn): InstanceMeta {
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
  // Text VRs may not hold NUL (PS3.5 §6.2); a stray one ends the value, as dicom-parser's own string readers end it.
  return decodeText(raw).split('\0', 1)[0].trim() || undefined;
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
