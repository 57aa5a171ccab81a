import type { MethodParams } from '../../contract/surveillance.ts';
import { untestedDay, type DetectionDay } from './detection.ts';
import { addDays, type DailySeries } from './series.ts';

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
  const sumOver = (values: readonly number[], end: number) => {
    let sum = 0;
    for (let i = end - w + 1; i <= end; i++) sum += values[i];
    return sum;
  };
  const inSeries = (end: number) => end - w + 1 >= 0 && end < counts.length;
  /** A window's value: its count, or its rate when there are denominators (undefined: no denominator). */
  const windowValue = (end: number): number | undefined => {
    if (!denominators) return sumOver(counts, end);
    const n = sumOver(denominators, end);
    return n > 0 ? sumOver(counts, end) / n : undefined;
  };
  return counts.map((_, t) => {
    const date = addDays(series.start, t);
    if (!inSeries(t)) return untestedDay(date, 0, 0, 'insufficient baseline');
    const history = historyOf(t, p, inSeries);
    if (!history) return untestedDay(date, 0, 0, 'insufficient baseline');
    const values = history.ends.map(windowValue).filter((v): v is number => v !== undefined);
    const scale = denominators ? sumOver(denominators, t) : 1;
    if (scale === 0) return untestedDay(date, 0, values.length * w, 'no denominator');
    // Windows with no denominator drop out: still one usable window per required year, or the recent minimum.
    if (values.length < (history.basis === 'seasonal' ? p.minYears : p.minRecentWindows)) return untestedDay(date, 0, values.length * w, 'insufficient baseline');
    const threshold = percentileOf(values, p.percentile) * scale;
    const statistic = sumOver(counts, t);
    const mean = (values.reduce((a, v) => a + v, 0) / values.length) * scale;
    return { date, statistic, threshold, alarm: statistic > threshold, baseline: { mean, percentile: threshold, days: values.length * w, basis: history.basis } };
  });
}

/** The last days of the historical windows day `t` is judged against, and which history they are. */
function historyOf(t: number, p: MethodParams, inSeries: (end: number) => boolean): { basis: 'seasonal' | 'recent-weeks'; ends: number[] } | undefined {
  const YEAR = 364;
  const years: number[][] = [];
  for (let y = 1; y <= p.years; y++) {
    const ends = Array.from({ length: 2 * p.windowsAround + 1 }, (_, j) => t - y * YEAR + (j - p.windowsAround) * p.windowDays);
    if (!ends.every(inSeries)) break;
    years.push(ends);
  }
  if (years.length >= p.minYears) return { basis: 'seasonal', ends: years.flat() };
  const recent = Array.from({ length: p.recentWindows }, (_, j) => t - (j + 1) * p.windowDays).filter(inSeries);
  return recent.length >= p.minRecentWindows ? { basis: 'recent-weeks', ends: recent } : undefined;
}

/** The q-th percentile (0 < q < 100), linear between order statistics (type 7). */
export function percentileOf(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const h = (sorted.length - 1) * (q / 100);
  const lo = Math.floor(h);
  return sorted[lo] + (h - lo) * ((sorted[Math.min(lo + 1, sorted.length - 1)]) - sorted[lo]);
}
