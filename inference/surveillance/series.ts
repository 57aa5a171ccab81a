/**
 * Daily series: one count (and optionally one denominator) per calendar day from `start`.
 * Days are plain `YYYY-MM-DD` calendar dates (the counting side decides the time zone); arithmetic
 * is on whole days in UTC so no clock or daylight-saving change can move a day.
 */

export interface DailySeries {
  /** `YYYY-MM-DD` of `counts[0]`. */
  start: string;
  /** Cases per day, ≥ 0. */
  counts: readonly number[];
  /** What the counts are out of, per day (studies, assessments); when given, methods judge the rate. */
  denominators?: readonly number[];
}

/** A series the detectors cannot read: a caller's bug, never data to be guessed at. */
export class SurveillanceInputError extends Error {
  readonly code = 'SURVEILLANCE_INPUT';
}

const DAY_MS = 86_400_000;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Days since 1970-01-01 of a `YYYY-MM-DD` date. */
export function dayNumber(date: string): number {
  const match = DATE.exec(date);
  const day = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) / DAY_MS : Number.NaN;
  // Date.UTC rolls 2026-02-30 over to 2 March: a date that does not read back is not on the calendar.
  if (!match || dateOfDay(day) !== date) throw new SurveillanceInputError(`${JSON.stringify(date)} is not a calendar date YYYY-MM-DD`);
  return day;
}

/**
 * `YYYY-MM-DD` of a day number, by integer arithmetic (Hinnant's civil_from_days): every verdict
 * carries its date, and building a Date for each was most of a detector's run time.
 */
export function dateOfDay(day: number): string {
  const z = day + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return `${String(y).padStart(4, '0')}-${m < 10 ? '0' : ''}${m}-${d < 10 ? '0' : ''}${d}`;
}

export const addDays = (date: string, days: number): string => dateOfDay(dayNumber(date) + days);

/** Checks a series once, before any method reads it. */
export function checkSeries(series: DailySeries): void {
  dayNumber(series.start);
  const bad = series.counts.findIndex((c) => !Number.isFinite(c) || c < 0);
  if (bad >= 0) throw new SurveillanceInputError(`count ${bad} (${series.counts[bad]}) is not a finite number ≥ 0`);
  const { denominators } = series;
  if (!denominators) return;
  if (denominators.length !== series.counts.length) {
    throw new SurveillanceInputError(`${denominators.length} denominators for ${series.counts.length} counts; one per day`);
  }
  const badDenominator = denominators.findIndex((d) => !Number.isFinite(d) || d < 0);
  if (badDenominator >= 0) throw new SurveillanceInputError(`denominator ${badDenominator} (${denominators[badDenominator]}) is not a finite number ≥ 0`);
}

/**
 * The series of a group of sites: counts (and denominators) summed day by day over the union of
 * their spans, a day a site has no entry for counting 0. Denominators are kept only when every
 * member has them: a rate over part of the group would misstate the group.
 */
export function aggregateSeries(members: readonly DailySeries[]): DailySeries {
  if (!members.length) throw new SurveillanceInputError('a group needs at least one series');
  members.forEach(checkSeries);
  const first = Math.min(...members.map((m) => dayNumber(m.start)));
  const last = Math.max(...members.map((m) => dayNumber(m.start) + m.counts.length - 1));
  const length = Math.max(0, last - first + 1);
  const counts = new Array<number>(length).fill(0);
  const withDenominators = members.every((m) => m.denominators);
  const denominators = withDenominators ? new Array<number>(length).fill(0) : undefined;
  for (const member of members) {
    const offset = dayNumber(member.start) - first;
    member.counts.forEach((c, i) => { counts[offset + i] += c; });
    member.denominators?.forEach((d, i) => { if (denominators) denominators[offset + i] += d; });
  }
  return { start: dateOfDay(first), counts, ...(denominators ? { denominators } : {}) };
}

/** Neighbour groups: sites sharing a parent, keyed by the parent's id (sites without a parent form no group). */
export function groupsByParent(sites: readonly { id: string; parentId?: string }[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const site of sites) {
    if (site.parentId === undefined) continue;
    groups.set(site.parentId, [...(groups.get(site.parentId) ?? []), site.id]);
  }
  for (const members of groups.values()) members.sort();
  return groups;
}
