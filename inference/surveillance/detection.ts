/**
 * One day's verdict of one method, with the evidence an alert carries: the statistic, the
 * threshold it was held against, and the baseline it was computed from. Counts and baselines are
 * in cases; for a rate series the baseline is the baseline rate times the day's denominator
 * ("denominator-adjusted expectation"), so every number reads as cases on that day.
 */
export interface DetectionDay {
  date: string;
  statistic: number;
  threshold: number;
  alarm: boolean;
  baseline: {
    /** Expected cases (EARS, CUSUM: the baseline mean; moving percentile: the mean of the historical windows). */
    mean?: number;
    /** Standard deviation used, after the `minSd` floor. */
    sd?: number;
    /** Moving percentile: the historical percentile the current window's count must exceed. */
    percentile?: number;
    /** Days of history the baseline was computed from. */
    days: number;
    /** Moving percentile: which history (CIDARS's same period of past years, or Lantern's recent weeks). */
    basis?: 'seasonal' | 'recent-weeks';
  };
  /** Why a day was not tested (its alarm is false and its statistic 0); absent on tested days. */
  untested?: 'insufficient baseline' | 'no denominator';
}

export function untestedDay(date: string, threshold: number, days: number, why: NonNullable<DetectionDay['untested']>): DetectionDay {
  return { date, statistic: 0, threshold, alarm: false, baseline: { days }, untested: why };
}
