import type { MethodParams } from '../../contract/surveillance.ts';
import { untestedDay, type DetectionDay } from './detection.ts';
import { dateOfDay, dayNumber, type DailySeries } from './series.ts';

/**
 * The moving percentile method of China's Infectious Disease Automated-alert and Response System
 * (CIDARS; Yang et al., Western Pac Surveill Response J 2011;2(1):10–15; thresholds P50/P80/P90
 * evaluated by Zhang et al., Chin J Prev Med 2014;48(4):265–9):
 *
 *   current(t) = cases in the 7 days ending on t (windowDays = 7)
 *   seasonal   = the 7-day counts of the same calendar window in each of the past 3 years and the
 *                2 windows either side of it (windowsAround), 5 × 3 = 15 historical windows; a
 *                "year" is 364 days so each window starts on the same weekday as the current one
 *   threshold  = the P-th percentile of the historical windows (P = 80 here; CIDARS uses P50 for
 *                most diseases); alarm when current(t) > threshold
 *
 * Lantern's adaptation for short history, named **recent-weeks**: when fewer than `minYears`
 * (3) past years are wholly present, the history is instead the `recentWindows` (12)
 * non-overlapping 7-day windows immediately before the current one (ending t−7, t−14, …), needing
 * at least `minRecentWindows` (6). It has no seasonality: a seasonal rise looks like an outbreak.
 *
 * Percentiles interpolate linearly between order statistics (Hyndman & Fan type 7, R's and
 * Excel's default). Rates: each historical window's rate (cases / denominator, windows with a
 * zero denominator dropped) gives the percentile rate, scaled by the current window's denominator.
 */
export function movingPercentile(series: DailySeries, p: MethodParams): DetectionDay[] {
  const { counts, denominators } = series;
  const w = p.windowDays;
  const day0 = dayNumber(series.start);
  // Running totals: a window's sum is two lookups, not seven additions, on every one of ~15 windows a day.
  const running = (values: readonly number[]) => values.reduce<number[]>((acc, v, i) => { acc.push(acc[i] + v); return acc; }, [0]);
  const countTotals = running(counts);
  const denominatorTotals = denominators ? running(denominators) : undefined;
  const sumOver = (totals: readonly number[], end: number) => totals[end + 1] - totals[end + 1 - w];
  /** A window's value: its count, or its rate when there are denominators (undefined: no denominator). */
  const windowValue = (end: number): number | undefined => {
    if (!denominatorTotals) return sumOver(countTotals, end);
    const n = sumOver(denominatorTotals, end);
    return n > 0 ? sumOver(countTotals, end) / n : undefined;
  };
  const YEAR = 364;
  const perYear = 2 * p.windowsAround + 1;
  // Window ends relative to t: each past year's same window and its neighbours, nearest year first; then the recent weeks.
  const seasonal = Array.from({ length: p.years * perYear }, (_, i) => -YEAR * (Math.floor(i / perYear) + 1) + ((i % perYear) - p.windowsAround) * w);
  const recent = Array.from({ length: p.recentWindows }, (_, j) => -(j + 1) * w);
  const values = new Float64Array(Math.max(seasonal.length, recent.length)); // reused each day: no garbage per day
  return counts.map((_, t) => {
    const date = dateOfDay(day0 + t);
    if (t - w + 1 < 0) return untestedDay(date, 0, 0, 'insufficient baseline');
    // A past year counts when all its windows lie in the series (its earliest window starts at or after day 0).
    let years = 0;
    while (years < p.years && t - YEAR * (years + 1) - p.windowsAround * w - w + 1 >= 0) years++;
    const recentCount = Math.min(p.recentWindows, Math.floor((t - w + 1) / w));
    const basis = years >= p.minYears ? 'seasonal' : 'recent-weeks';
    const offsets = basis === 'seasonal' ? seasonal.slice(0, years * perYear) : recent.slice(0, recentCount);
    if (basis === 'recent-weeks' && recentCount < p.minRecentWindows) return untestedDay(date, 0, 0, 'insufficient baseline');
    let k = 0;
    for (const o of offsets) {
      const v = windowValue(t + o);
      if (v !== undefined) values[k++] = v;
    }
    const scale = denominatorTotals ? sumOver(denominatorTotals, t) : 1;
    if (scale === 0) return untestedDay(date, 0, k * w, 'no denominator');
    // Windows with no denominator drop out: still one usable window per required year, or the recent minimum.
    if (k < (basis === 'seasonal' ? p.minYears : p.minRecentWindows)) return untestedDay(date, 0, k * w, 'insufficient baseline');
    const sorted = values.subarray(0, k).sort();
    const threshold = percentileOfSorted(sorted, p.percentile) * scale;
    const statistic = sumOver(countTotals, t);
    const mean = (sorted.reduce((a, v) => a + v, 0) / k) * scale;
    return { date, statistic, threshold, alarm: statistic > threshold, baseline: { mean, percentile: threshold, days: k * w, basis } };
  });
}

/** The q-th percentile (0 < q < 100), linear between order statistics (type 7). */
export const percentileOf = (values: readonly number[], q: number): number => percentileOfSorted(Float64Array.from(values).sort(), q);

function percentileOfSorted(sorted: Float64Array, q: number): number {
  const h = (sorted.length - 1) * (q / 100);
  const lo = Math.floor(h);
  return sorted[lo] + (h - lo) * (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]);
}
