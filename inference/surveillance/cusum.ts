import type { MethodParams } from '../../contract/surveillance.ts';
import { untestedDay, type DetectionDay } from './detection.ts';
import { standardise } from './ears.ts';
import { dateOfDay, dayNumber, type DailySeries } from './series.ts';

/**
 * A standardised one-sided CUSUM on the EARS C2 baseline (as compared with EARS in Fricker, Hegler
 * & Dunfee, Stat Med 2008; the chart is Page's, Biometrika 1954):
 *
 *   z(t) = (x(t) − mean) / max(sd, minSd)  over days t−9 … t−3 (baselineDays 7, guardDays 2)
 *   S(t) = max(0, S(t−1) + z(t) − k),  k = 0.5;  alarm when S(t) > h = 4
 *
 * The guard band keeps the first days of a rise out of the baseline the rise is judged against.
 * After an alarm S restarts from 0 (the alarm has been raised; a persisting rise alarms again once
 * it has re-accumulated). An untested day (short baseline, no denominator) also restarts S: the
 * chart carries no evidence across a gap.
 */
export function cusum(series: DailySeries, p: MethodParams): DetectionDay[] {
  const { day, untested, days } = standardise(series, p);
  const day0 = dayNumber(series.start);
  let s = 0;
  return day.map((b, t) => {
    const date = dateOfDay(day0 + t);
    if (!b) {
      s = 0;
      return untestedDay(date, p.threshold, days[t], untested[t]!);
    }
    const statistic = Math.max(0, s + b.z - p.k);
    const alarm = statistic > p.threshold;
    s = alarm ? 0 : statistic;
    return { date, statistic, threshold: p.threshold, alarm, baseline: { mean: b.mean, sd: b.sd, days: b.days } };
  });
}
