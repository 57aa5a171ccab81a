import { createHmac, randomBytes } from 'node:crypto';

/**
 * What one export shares between its instances: a secret key from which every replacement
 * is derived, so the same original UID, patient or date always becomes the same new one
 * within the export (PS3.15 E.3.9: UIDs replaced "consistently within the Set of Instances"),
 * and nothing can be reversed without the key. A new random key per export by default: two
 * exports cannot then be linked to each other. The mapping back to the originals is kept
 * in memory only, for a caller that asks for it explicitly (it re-identifies).
 */
export interface DeidentifyContext {
  /** A PS3.5 §9.1 UID under the 2.25 root: "2.25." and the decimal of 128 keyed-hash bits (≤ 44 characters). */
  uid(original: string): string;
  /** The pseudonymous patient (ID and name) and the whole-day date offset of everything about that patient. */
  patient(originalId: string, originalName: string): PatientReplacement;
  /** A stable pseudonym for a person who is not the patient (a reader who decided on a finding): `READER-` and 12 hex digits. */
  reader(original: string): string;
  /** Original → replacement, for `--mapping` only. */
  mapping(): DeidentifyMapping;
}

export interface PatientReplacement {
  pseudonym: string;
  /** Days added to every date of this patient (negative: moved into the past), never 0. */
  offsetDays: number;
}

export interface DeidentifyMapping {
  uids: Record<string, string>;
  patients: { originalId: string; originalName: string; pseudonym: string; offsetDays: number }[];
}

export interface ContextOptions {
  /** 32 bytes or more; a random key when omitted. Pass the same key to make two exports link up. */
  key?: Uint8Array;
  /**
   * Range of the per-patient date offset in days, default 366–3652 into the past: wide enough
   * that a date cannot be guessed back from the weekday or season, and never zero.
   */
  offsetDays?: { min: number; max: number };
}

export function createDeidentifyContext(options: ContextOptions = {}): DeidentifyContext {
  const key = options.key ?? randomBytes(32);
  if (key.length < 32) throw new Error('de-identification key must be at least 32 bytes');
  const { min, max } = options.offsetDays ?? { min: 366, max: 3652 };
  const digest = (purpose: string, value: string) => createHmac('sha256', key).update(`${purpose}\0${value}`).digest();
  const uids = new Map<string, string>();
  const patients = new Map<string, DeidentifyMapping['patients'][number]>();
  return {
    uid(original) {
      let replaced = uids.get(original);
      if (!replaced) {
        replaced = `2.25.${BigInt(`0x${digest('uid', original).subarray(0, 16).toString('hex')}`).toString(10)}`;
        uids.set(original, replaced);
      }
      return replaced;
    },
    patient(originalId, originalName) {
      // A patient without an ID is known only by name; with neither, all such instances share one pseudonym.
      const identity = originalId ? `id:${originalId}` : `name:${originalName}`;
      let entry = patients.get(identity);
      if (!entry) {
        const bytes = digest('patient', identity);
        const span = max - min + 1;
        entry = {
          originalId, originalName,
          pseudonym: `LANTERN-${bytes.subarray(0, 6).toString('hex').toUpperCase()}`,
          offsetDays: -(min + (bytes.readUInt32BE(8) % span)),
        };
        patients.set(identity, entry);
      }
      return { pseudonym: entry.pseudonym, offsetDays: entry.offsetDays };
    },
    reader(original) {
      return `READER-${digest('reader', original).subarray(0, 6).toString('hex').toUpperCase()}`;
    },
    mapping() {
      return { uids: Object.fromEntries(uids), patients: [...patients.values()] };
    },
  };
}
