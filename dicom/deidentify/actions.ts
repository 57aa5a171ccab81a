import dcmjs from 'dcmjs';
import { TABLE_E1_1, type ProfileRow } from './table-e1-1.ts';

/**
 * What happens to one element: the table's action, reduced to one that can be carried out
 * without knowing the IOD, and the options applied on top.
 *
 * - X/D · Z/D · X/Z/D → D: the branch that keeps a Type 1 or 2 attribute present, so the
 *   output stays as conformant as the input was; the information is gone either way.
 * - X/Z stays: a value is emptied (Z), a sequence removed unless it is Type 2 where it
 *   occurs (an empty Type 3 sequence is itself an error).
 * - X/Z/U* → U*: sequences are kept and walked (their UIDs replaced), other values emptied.
 * - With "Retain Longitudinal Temporal Information with Modified Dates" every date/time row
 *   becomes C (shifted by the patient's offset), except the patient's birth date and time,
 *   which stay Z/X as the option's column has them.
 * - Not in the table: a UID is replaced (U) unless it names a class, a syntax or a coding
 *   scheme rather than an instance — PS3.15 E.3.9 lets any other UID be replaced, and an
 *   unlisted instance UID (a vendor's, a newer attribute's) would otherwise leak; a sequence
 *   is walked; anything else is kept (K).
 */
export type Action = 'X' | 'Z' | 'X/Z' | 'D' | 'U' | 'U*' | 'C' | 'K';

const byTag = new Map<number, ProfileRow>(TABLE_E1_1.filter((row) => !row.repeating).map((row) => [row.tag, row]));

const BIRTH = new Set([0x00100030, 0x00100032]);
const DATE_VRS = new Set(['DA', 'DT', 'TM']);

/** UIDs that name a kind of thing, never a patient's instance. */
const CLASS_UIDS = new Set([
  0x00020002, 0x00020010, 0x00020012, // Media Storage SOP Class, Transfer Syntax, Implementation Class
  0x00041510, 0x00041512, // Referenced SOP Class / Transfer Syntax UID in File
  0x00080016, 0x0008001a, 0x0008001b, 0x00080062, 0x00081150, // SOP Class UIDs
  0x0008010c, 0x0008010d, 0x00080117, // Coding Scheme, Context Group Extension Creator, Context UID
  0x04000010, // MAC Calculation Transfer Syntax UID
]);

/** Inside a sequence the table says to replace with a dummy (D), every free-text value goes too. */
const FREE_TEXT_VRS = new Set(['PN', 'LO', 'SH', 'ST', 'LT', 'UT', 'UC']);
/** …except the coded vocabulary of a code item, which names a concept and never a person. */
const CODE_ITEM = new Set([0x00080100, 0x00080102, 0x00080103, 0x00080104, 0x00080119, 0x00080120, 0x00080105]);

/**
 * The K rows of the Retain Patient Characteristics option: what a model's population gate
 * reads (age, sex, size, weight) and a few more facts about the body. Its C rows (allergies,
 * medical alerts, pre-medication, free-text history) stay removed: cleaning free text is not
 * something this code can promise.
 */
const PATIENT_CHARACTERISTICS = new Set([
  0x00101010, 0x00100040, 0x00101020, 0x00101030, // Patient's Age, Sex, Size, Weight
  0x00102160, 0x001021a0, 0x001021c0, 0x00102203, // Ethnic Group, Smoking Status, Pregnancy Status, Patient's Sex Neutered
]);

export interface ActionOptions {
  retainLongitudinalModifiedDates: boolean;
  retainPatientCharacteristics?: boolean;
  /** Inside a D sequence: free text is replaced too. */
  dummyText: boolean;
}

export function actionFor(tag: number, vr: string, options: ActionOptions): Action {
  const row = byTag.get(tag);
  if (row && options.retainPatientCharacteristics && PATIENT_CHARACTERISTICS.has(tag)) return 'K';
  if (row) {
    if (options.retainLongitudinalModifiedDates && DATE_VRS.has(vr) && !BIRTH.has(tag)) return 'C';
    switch (row.action) {
      case 'X/D': case 'Z/D': case 'X/Z/D': return 'D';
      case 'X/Z/U*': return 'U*';
      default: return row.action;
    }
  }
  if (vr === 'UI') return CLASS_UIDS.has(tag) ? 'K' : 'U';
  if (options.dummyText && FREE_TEXT_VRS.has(vr) && !CODE_ITEM.has(tag)) return 'D';
  if (options.dummyText && DATE_VRS.has(vr)) return options.retainLongitudinalModifiedDates ? 'C' : 'D';
  return 'K';
}

/** Curves (50xx) and overlays (60xx): the table removes their data and comments; the rest of an overlay without its data is not a valid overlay, so the whole group goes. */
export function isRepeatingGroupRemoved(tag: number): boolean {
  const group = tag >>> 16;
  return (group & 0xff01) === 0x5000 || (group & 0xff01) === 0x6000;
}

const dictionary = dcmjs.data.DicomMetaDictionary.dictionary;

/** The VR an implicit-VR file leaves out, from the standard's data dictionary (dcmjs's copy). */
export function dictionaryVr(tag: number): string | undefined {
  const group = (tag >>> 16).toString(16).padStart(4, '0').toUpperCase();
  const element = (tag & 0xffff).toString(16).padStart(4, '0').toUpperCase();
  const vr = dictionary[`(${group},${element})`]?.vr;
  return vr?.split('|')[0]?.split(' or ')[0];
}

export const isClassUid = (tag: number) => CLASS_UIDS.has(tag);
