import type { DetectorMethod, MethodParams } from '../../contract/surveillance.ts';
import { cusum } from './cusum.ts';
import type { DetectionDay } from './detection.ts';
import { earsC3, earsShewhart } from './ears.ts';
import { movingPercentile } from './moving-percentile.ts';
import { methodParamsFor } from './params.ts';
import { checkSeries, type DailySeries } from './series.ts';

const METHODS: Record<DetectorMethod, (series: DailySeries, p: MethodParams) => DetectionDay[]> = {
  'ears-c1': earsShewhart,
  'ears-c2': earsShewhart,
  'ears-c3': earsC3,
  cusum,
  'moving-percentile': movingPercentile,
};

/**
 * One method over a whole daily series: a verdict for every day, aligned with `series.counts`
 * (days the method cannot judge say why in `untested`). Pure: the same series and parameters give
 * the same days. Counts, or rates when the series has denominators (see `detection.ts`).
 */
export function detect(series: DailySeries, method: DetectorMethod, params?: Partial<MethodParams>): DetectionDay[] {
  checkSeries(series);
  return METHODS[method](series, methodParamsFor(method, params));
}
