/**
 * Replacement values, one VR at a time. Text is written in ASCII, which is valid in every
 * character set DICOM allows (ISO 2022 starts in ASCII; GB18030 and UTF-8 contain it), so
 * Specific Character Set (0008,0005) can stay as it was.
 */

const ascii = (text: string) => new Uint8Array(Buffer.from(text, 'latin1'));
export const readText = (value: Uint8Array) => Buffer.from(value).toString('latin1').replace(/[\0 ]+$/, '').trim();

/** PS3.15 E.3.1 action D: a non-zero-length value consistent with the VR that identifies nothing. */
export function dummyValue(vr: string, length: number): Uint8Array {
  switch (vr) {
    case 'PN': case 'LO': case 'SH': case 'LT': case 'ST': case 'UT': case 'UC': case 'CS': case 'AE':
      return ascii('ANONYMIZED');
    case 'DA': return ascii('19000101');
    case 'DT': return ascii('19000101000000');
    case 'TM': return ascii('000000');
    case 'IS': case 'DS': return ascii('0 ');
    case 'AS': return ascii('000D');
    case 'UR': return ascii('urn:anonymized ');
    case 'US': case 'SS': case 'UL': case 'SL': case 'FL': case 'FD': case 'AT': case 'SV': case 'UV':
      return new Uint8Array(length);
    // Bulk and unknown values carry no dummy that could mean anything: empty is the only safe value.
    default: return new Uint8Array(0);
  }
}

/** Several UIDs in one value (VM 1-n) are remapped one by one; the result is padded with NUL, as UIDs are. */
export function remapUids(value: Uint8Array, remap: (uid: string) => string): Uint8Array {
  const uids = Buffer.from(value).toString('latin1').replace(/[\0 ]+$/, '').split('\\');
  const text = uids.map((uid) => (uid.trim() ? remap(uid.trim()) : '')).join('\\');
  return new Uint8Array(Buffer.from(text.length % 2 ? `${text}\0` : text, 'latin1'));
}

const DAY_MS = 86_400_000;

/** One DA value (YYYY, YYYYMM or YYYYMMDD) moved by whole days, at the precision it had; '' when it is not a date. */
export function shiftDate(date: string, days: number): string {
  const plain = date.replace(/\./g, ''); // ACR-NEMA wrote YYYY.MM.DD
  if (!/^\d{4}(\d{2}(\d{2})?)?$/.test(plain)) return '';
  const year = Number(plain.slice(0, 4));
  const month = plain.length >= 6 ? Number(plain.slice(4, 6)) : 1;
  const day = plain.length === 8 ? Number(plain.slice(6, 8)) : 1;
  const shifted = new Date(Date.UTC(year, month - 1, day) + days * DAY_MS);
  const full = `${shifted.getUTCFullYear().toString().padStart(4, '0')}${String(shifted.getUTCMonth() + 1).padStart(2, '0')}${String(shifted.getUTCDate()).padStart(2, '0')}`;
  return full.slice(0, plain.length); // keep the precision the original had
}

/**
 * "Retain Longitudinal Temporal Information with Modified Dates" (E.3.6): every date of a
 * patient moves by the same whole number of days, so intervals between studies, series and
 * acquisitions survive. Times of day are kept (a whole-day shift does not change them); a DT
 * keeps its time and offset suffix. A value that is not a date is emptied rather than kept.
 */
export function shiftDates(value: Uint8Array, vr: string, days: number): Uint8Array {
  if (vr === 'TM') return value;
  const values = readText(value).split('\\').map((one) => {
    const text = one.trim();
    if (!text) return '';
    if (vr === 'DA') return shiftDate(text, days);
    const match = /^(\d{4,8})(.*)$/.exec(text);
    if (!match) return '';
    const datePart = match[1].length >= 8 ? match[1].slice(0, 8) : match[1];
    const shifted = shiftDate(datePart, days);
    return shifted ? `${shifted}${match[1].slice(datePart.length)}${match[2]}` : '';
  });
  const text = values.join('\\');
  return ascii(text.length % 2 ? `${text} ` : text);
}

export function textValue(text: string, vr: string): Uint8Array {
  const pad = vr === 'UI' ? '\0' : ' ';
  return ascii(text.length % 2 ? `${text}${pad}` : text);
}
