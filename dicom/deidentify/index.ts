import { createHash } from 'node:crypto';
import dicomParser from 'dicom-parser';
import type { DataSet, Element } from 'dicom-parser';
import { DicomError, type DicomErrorOptions } from '../errors.ts';
import { parseDicom, type DicomInstance } from '../parse.ts';
import { actionFor, dictionaryVr, isRepeatingGroupRemoved, type ActionOptions } from './actions.ts';
import type { DeidentifyContext } from './context.ts';
import { encodePart10, type OutElement } from './encode.ts';
import { PROFILE_EDITION } from './table-e1-1.ts';
import { dummyValue, readText, remapUids, shiftDates, textValue } from './values.ts';

export { createDeidentifyContext, type DeidentifyContext, type DeidentifyMapping } from './context.ts';
export { TABLE_E1_1, PROFILE_EDITION, type ProfileRow } from './table-e1-1.ts';

/**
 * De-identification of one instance by DICOM PS3.15 (2024b) Annex E: the Basic Application
 * Level Confidentiality Profile (every row of Table E.1-1, private attributes removed, UIDs
 * replaced consistently through the export's context) and, by default, the Retain
 * Longitudinal Temporal Information with Modified Dates option. Works on the data set's
 * elements and writes them back in the same transfer syntax; Pixel Data is copied byte for
 * byte. The profile does not clean pixels: an image that says it has burned-in annotation
 * is refused (or, when asked, passed through and flagged).
 *
 * @example
 *   const context = createDeidentifyContext();          // one per export
 *   const out = deidentify(bytes, { context });          // same context → same UIDs, same offsets
 */
export interface DeidentifyOptions {
  context: DeidentifyContext;
  /** Shift dates by a per-patient offset (default) rather than empty or dummy them. */
  retainLongitudinalModifiedDates?: boolean;
  /** Retain Patient Characteristics Option: keep age, sex, size, weight and the like (default off). */
  retainPatientCharacteristics?: boolean;
  /** 'refuse' (default) throws BurnedInAnnotationError for Burned In Annotation YES; 'flag' exports and reports it. */
  burnedInAnnotation?: 'refuse' | 'flag';
}

export interface DeidentifiedInstance {
  bytes: Uint8Array;
  transferSyntaxUid: string;
  sopClassUid: string;
  modality: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  patientPseudonym: string;
  /** From (0028,0301); 'unknown' when absent — a reviewer should look at such images before sharing. */
  burnedInAnnotation: 'NO' | 'YES' | 'unknown';
  /** How many elements each action touched, and how many private elements were removed. */
  counts: Record<string, number>;
}

/** The profile cannot vouch for pixels: text burned into them is identifying. Not retried. */
export class BurnedInAnnotationError extends DicomError {
  constructor(message: string, options?: DicomErrorOptions) {
    super(message, 'BURNED_IN_ANNOTATION', options);
  }
}

const PIXEL_DATA = 0x7fe00010;
const PATIENT_NAME = 0x00100010;
const PATIENT_ID = 0x00100020;
const WRITTEN = { identityRemoved: 0x00120062, method: 0x00120063, methodCodes: 0x00120064, temporal: 0x00280303 };
const IMPLEMENTATION_CLASS_UID = `2.25.${BigInt(`0x${createHash('sha256').update('lantern/dicom/deidentify').digest('hex').slice(0, 32)}`)}`;
const IMPLEMENTATION_VERSION = 'LANTERN_DEID_1';

export function deidentify(input: Uint8Array | DicomInstance, options: DeidentifyOptions): DeidentifiedInstance {
  const instance = input instanceof Uint8Array ? parseDicom(input) : input;
  const { dataSet, transferSyntaxUid } = instance;
  const retainDates = options.retainLongitudinalModifiedDates ?? true;
  const burnedIn = readBurnedIn(dataSet);
  if (burnedIn === 'YES' && (options.burnedInAnnotation ?? 'refuse') === 'refuse') {
    throw new BurnedInAnnotationError('Burned In Annotation (0028,0301) is YES: the pixels may show identifying text, which the Basic Profile does not remove');
  }
  const patient = options.context.patient(rawString(dataSet, 'x00100020'), rawString(dataSet, 'x00100010'));
  const walk = new Walk(options.context, patient, transferSyntaxUid, retainDates);
  const characteristics = options.retainPatientCharacteristics ?? false;
  const body = walk.dataSet(dataSet, { retainLongitudinalModifiedDates: retainDates, retainPatientCharacteristics: characteristics, dummyText: false }, true)
    .filter((element) => !Object.values(WRITTEN).includes(element.tag));
  body.push(...methodAttributes(retainDates, characteristics));
  const value = (tag: number) => {
    const found = body.find((element) => element.tag === tag);
    return found && 'value' in found ? readText(found.value) : '';
  };
  const sopClassUid = value(0x00080016) || instance.meta.sopClassUid;
  const sopInstanceUid = value(0x00080018);
  const meta: OutElement[] = [
    { tag: 0x00020001, vr: 'OB', value: new Uint8Array([0, 1]) },
    { tag: 0x00020002, vr: 'UI', value: textValue(sopClassUid, 'UI') },
    { tag: 0x00020003, vr: 'UI', value: textValue(sopInstanceUid, 'UI') },
    { tag: 0x00020010, vr: 'UI', value: textValue(transferSyntaxUid, 'UI') },
    { tag: 0x00020012, vr: 'UI', value: textValue(IMPLEMENTATION_CLASS_UID, 'UI') },
    { tag: 0x00020013, vr: 'SH', value: textValue(IMPLEMENTATION_VERSION, 'SH') },
  ];
  return {
    bytes: new Uint8Array(encodePart10(meta, body, transferSyntaxUid)),
    transferSyntaxUid,
    sopClassUid,
    modality: value(0x00080060),
    studyInstanceUid: value(0x0020000d),
    seriesInstanceUid: value(0x0020000e),
    sopInstanceUid,
    patientPseudonym: patient.pseudonym,
    burnedInAnnotation: burnedIn,
    counts: walk.counts,
  };
}

/** (0012,0062), (0012,0063), (0012,0064) and (0028,0303) as PS3.3 C.7.1.1 and C.7.6.1 require after de-identification. */
function methodAttributes(retainDates: boolean, characteristics: boolean): OutElement[] {
  const code = (value: string, meaning: string): OutElement[] => [
    { tag: 0x00080100, vr: 'SH', value: textValue(value, 'SH') },
    { tag: 0x00080102, vr: 'SH', value: textValue('DCM', 'SH') },
    { tag: 0x00080104, vr: 'LO', value: textValue(meaning, 'LO') },
  ];
  const methods = [
    `DICOM PS3.15 ${PROFILE_EDITION} Basic Profile`, ...(retainDates ? ['Retain Longitudinal Modified Dates'] : []),
    ...(characteristics ? ['Retain Patient Characteristics'] : []), 'Lantern dicom/deidentify 1',
  ];
  return [
    { tag: WRITTEN.identityRemoved, vr: 'CS', value: textValue('YES', 'CS') },
    { tag: WRITTEN.method, vr: 'LO', value: textValue(methods.join('\\'), 'LO') },
    {
      tag: WRITTEN.methodCodes, vr: 'SQ', items: [
        code('113100', 'Basic Application Confidentiality Profile'),
        ...(retainDates ? [code('113107', 'Retain Longitudinal Temporal Information Modified Dates Option')] : []),
        ...(characteristics ? [code('113108', 'Retain Patient Characteristics Option')] : []),
      ],
    },
    { tag: WRITTEN.temporal, vr: 'CS', value: textValue(retainDates ? 'MODIFIED' : 'REMOVED', 'CS') },
  ];
}

/** Burned In Annotation (0028,0301) of a parsed instance: whether its pixels may show identifying text. */
export function readBurnedIn(dataSet: DataSet): DeidentifiedInstance['burnedInAnnotation'] {
  const flag = rawString(dataSet, 'x00280301').toUpperCase();
  return flag === 'YES' || flag === 'NO' ? flag : 'unknown';
}

function rawString(dataSet: DataSet, key: string): string {
  const element = dataSet.elements[key];
  return element ? readText(dataSet.byteArray.subarray(element.dataOffset, element.dataOffset + element.length)) : '';
}

class Walk {
  readonly counts: Record<string, number> = {};
  constructor(
    private readonly context: DeidentifyContext,
    private readonly patient: { pseudonym: string; offsetDays: number },
    private readonly transferSyntaxUid: string,
    private readonly retainDates: boolean,
  ) {}

  private count(what: string): void {
    this.counts[what] = (this.counts[what] ?? 0) + 1;
  }

  dataSet(dataSet: DataSet, options: ActionOptions, top = false): OutElement[] {
    const out: OutElement[] = [];
    const metaEnd = top ? endOfMeta(dataSet) : 0;
    for (const element of Object.values(dataSet.elements)) {
      const tag = parseInt(element.tag.slice(1), 16);
      const group = tag >>> 16;
      // dicom-parser's deflate path can leave a phantom element from the preamble's bytes ("DICM").
      if (group !== 0x0002 && element.dataOffset < metaEnd) continue;
      if (group % 2 === 1) { this.count('private'); continue; }
      // dicom-parser lists an item's delimiter among its elements; the writer adds its own.
      if (group === 0xfffe) continue;
      // Group lengths (retired) would be wrong after any change; the meta group is rebuilt.
      if ((tag & 0xffff) === 0 || group === 0x0002) continue;
      if (isRepeatingGroupRemoved(tag)) { this.count('X'); continue; }
      if (top && tag === PIXEL_DATA) { out.push(this.pixelData(element, dataSet.byteArray)); continue; }
      const one = this.element(tag, element, dataSet.byteArray, options);
      if (one) out.push(one);
    }
    return out;
  }

  private element(tag: number, element: Element, bytes: Uint8Array, options: ActionOptions): OutElement | undefined {
    const vr = element.items ? 'SQ' : (element.vr && element.vr !== 'UN' ? element.vr : dictionaryVr(tag) ?? element.vr ?? 'UN');
    if (vr === 'SQ' && !element.items && element.length > 0) element = { ...element, items: unknownSequenceItems(tag, element, bytes) };
    // In an explicit file an element of unknown meaning keeps its UN VR; its replacement is judged by the dictionary's VR.
    const writtenVr = element.items ? 'SQ' : (element.vr ?? vr);
    const action = actionFor(tag, vr, options);
    this.count(action);
    const value = () => bytes.subarray(element.dataOffset, element.dataOffset + element.length);
    const items = (inner: ActionOptions): OutElement => ({
      tag, vr: 'SQ', items: (element.items ?? []).map((item) => (item.dataSet ? this.dataSet(item.dataSet, inner) : [])),
    });
    const keep = (): OutElement => (vr === 'SQ' ? items(options) : { tag, vr: writtenVr, value: value() });
    switch (action) {
      case 'X':
        return undefined;
      case 'Z':
        return vr === 'SQ' ? { tag, vr: 'SQ', items: [] } : { tag, vr: writtenVr, value: new Uint8Array(0) };
      case 'X/Z':
        // A sequence with no items is invalid where it is Type 3; only where it is Type 2 is it kept, empty.
        return vr !== 'SQ' ? { tag, vr: writtenVr, value: new Uint8Array(0) } : TYPE_2_SEQUENCES.has(tag) ? { tag, vr: 'SQ', items: [] } : undefined;
      case 'D':
        if (vr === 'SQ') return items({ ...options, dummyText: true });
        if (tag === PATIENT_ID || tag === PATIENT_NAME) return { tag, vr: writtenVr, value: textValue(this.patient.pseudonym, vr) };
        if (vr === 'UI') return { tag, vr: writtenVr, value: this.uids(value()) };
        if (!this.retainDates || !['DA', 'DT', 'TM'].includes(vr)) return { tag, vr: writtenVr, value: dummyValue(vr, element.length) };
        return { tag, vr: writtenVr, value: shiftDates(value(), vr, this.patient.offsetDays) };
      case 'U':
        return { tag, vr: writtenVr, value: this.uids(value()) };
      case 'U*':
        if (vr === 'SQ') return items(options);
        return vr === 'UI' ? { tag, vr: writtenVr, value: this.uids(value()) } : { tag, vr: writtenVr, value: new Uint8Array(0) };
      case 'C':
        return { tag, vr: writtenVr, value: shiftDates(value(), vr, this.patient.offsetDays) };
      case 'K':
        return keep();
    }
  }

  /** Well-known UIDs (the standard's own, 1.2.840.10008.*) identify nothing and are kept as they are. */
  private uids(value: Uint8Array): Uint8Array {
    return remapUids(value, (uid) => (uid.startsWith('1.2.840.10008.') ? uid : this.context.uid(uid)));
  }

  /** Byte for byte: native pixels as the value, encapsulated pixels header to delimiter. */
  private pixelData(element: Element, bytes: Uint8Array): OutElement {
    if (element.encapsulatedPixelData) {
      return { tag: PIXEL_DATA, raw: bytes.subarray(element.dataOffset - 12, element.dataOffset + element.length) };
    }
    const vr = element.vr ?? (this.transferSyntaxUid === '1.2.840.10008.1.2' ? 'OW' : 'OB');
    return { tag: PIXEL_DATA, vr, value: bytes.subarray(element.dataOffset, element.dataOffset + element.length) };
  }
}

/** Sequences the Basic Profile empties (X/Z) that some IODs require present (Type 2). */
const TYPE_2_SEQUENCES = new Set([0x00400555]); // Acquisition Context Sequence

function endOfMeta(dataSet: DataSet): number {
  let end = 0;
  for (const element of Object.values(dataSet.elements)) {
    if (element.tag.startsWith('x0002')) end = Math.max(end, element.dataOffset + element.length);
  }
  return end;
}

/**
 * A sequence written as UN (by a system that did not know the attribute) holds its items in
 * implicit VR little endian (PS3.5 6.2.2); it is read as such so its contents are
 * de-identified like any other sequence's.
 */
function unknownSequenceItems(tag: number, element: Element, bytes: Uint8Array): Element['items'] {
  const wrapped = new Uint8Array(8 + element.length);
  const view = new DataView(wrapped.buffer);
  view.setUint16(0, tag >>> 16, true);
  view.setUint16(2, tag & 0xffff, true);
  view.setUint32(4, element.length, true);
  wrapped.set(bytes.subarray(element.dataOffset, element.dataOffset + element.length), 8);
  try {
    const parsed = dicomParser.parseDicom(wrapped, { TransferSyntaxUID: '1.2.840.10008.1.2' });
    return Object.values(parsed.elements)[0]?.items ?? [];
  } catch {
    return []; // unreadable: nothing of it is copied
  }
}
