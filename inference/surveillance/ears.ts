import type { MethodParams } from '../../contract/surveillance.ts';
import { untestedDay, type DetectionDay } from './detection.ts';
import { dateOfDay, dayNumber, type DailySeries } from './series.ts';

/**
 * CDC's Early Aberration Reporting System (Hutwagner et al., J Urban Health 2003; the formulas as
 * in Fricker, Hegler & Dunfee, Stat Med 2008):
 *
 *   baseline(t) = days t−g−b … t−g−1 (b = baselineDays = 7; g = guardDays: C1 0, C2/C3 2)
 *   z(t)        = (x(t) − mean) / max(sd, minSd)      (sd: sample standard deviation, n − 1)
 *   C1, C2      = z(t) with g = 0, 2;  alarm when z > 3
 *   C3          = Σ_{i=0..2} max(0, C2(t−i) − 1);     alarm when C3 > 2
 *
 * Rates: with denominators n(t), the baseline is taken over the daily rates x/n of its usable days
 * (n > 0) and scaled by n(t): mean = n(t)·mean(rate), sd = n(t)·sd(rate). A day with n(t) = 0 is
 * not tested. A day with fewer than `minBaselineDays` usable baseline days is not tested.
 */

interface Standardised {
  z: number;
  mean: number;
  sd: number;
  days: number;
}

/** z(t) of every day (undefined where untested), with the baseline each was computed from. */
export function standardise(series: DailySeries, p: MethodParams): { day: (Standardised | undefined)[]; untested: (DetectionDay['untested'] | undefined)[]; days: number[] } {
  const { counts, denominators } = series;
  const day: (Standardised | undefined)[] = [];
  const untested: (DetectionDay['untested'] | undefined)[] = [];
  const days: number[] = [];
  const needed = Math.min(p.minBaselineDays, p.baselineDays);
  for (let t = 0; t < counts.length; t++) {
    const values: number[] = [];
    for (let i = Math.max(0, t - p.guardDays - p.baselineDays); i < t - p.guardDays; i++) {
      if (!denominators) values.push(counts[i]);
      else if (denominators[i] > 0) values.push(counts[i] / denominators[i]);
    }
    days.push(values.length);
    const scale = denominators ? denominators[t] : 1;
    if (values.length < needed || scale === 0) {
      day.push(undefined);
      untested.push(values.length < needed ? 'insufficient baseline' : 'no denominator');
      continue;
    }
    const meanRate = values.reduce((a, v) => a + v, 0) / values.length;
    const sdRate = Math.sqrt(values.reduce((a, v) => a + (v - meanRate) ** 2, 0) / (values.length - 1));
    const mean = meanRate * scale;
    const sd = Math.max(sdRate * scale, p.minSd);
    day.push({ z: (counts[t] - mean) / sd, mean, sd, days: values.length });
    untested.push(undefined);
  }
  return { day, untested, days };
}

/** C1 or C2 (which one is the guard band in `p`). */
export function earsShewhart(series: DailySeries, p: MethodParams): DetectionDay[] {
  const { day, untested, days } = standardise(series, p);
  const day0 = dayNumber(series.start);
  return day.map((s, t) => {
    const date = dateOfDay(day0 + t);
    if (!s) return untestedDay(date, p.threshold, days[t], untested[t]!);
    return { date, statistic: s.z, threshold: p.threshold, alarm: s.z > p.threshold, baseline: { mean: s.mean, sd: s.sd, days: s.days } };
  });
}

/** C3: the last three days' C2 exceedances over 1, summed; tested only when C2 was tested on all three. */
export function earsC3(series: DailySeries, p: MethodParams): DetectionDay[] {
  const { day, untested, days } = standardise(series, p);
  const day0 = dayNumber(series.start);
  return day.map((s, t) => {
    const date = dateOfDay(day0 + t);
    const window = t >= 2 ? [day[t], day[t - 1], day[t - 2]] : [];
    if (!s || window.length < 3 || window.some((w) => !w)) return untestedDay(date, p.threshold, days[t], untested[t] ?? 'insufficient baseline');
    const statistic = window.reduce((sum, w) => sum + Math.max(0, w!.z - 1), 0);
    return { date, statistic, threshold: p.threshold, alarm: statistic > p.threshold, baseline: { mean: s.mean, sd: s.sd, days: s.days } };
  });
}
