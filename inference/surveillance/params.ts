import type { DetectorMethod, MethodParams } from '../../contract/surveillance.ts';

/**
 * Defaults, merged once here: the published values where there are any (EARS: Hutwagner et al.
 * 2003, Fricker et al. 2008; CIDARS: Yang et al. 2011), Lantern's own choices where not, said so.
 */
const COMMON: MethodParams = {
  baselineDays: 7,
  guardDays: 2,
  // Lantern: a rate series loses baseline days with no studies; 5 of 7 keeps a weekend-closed clinic testable.
  minBaselineDays: 5,
  threshold: 3,
  // Lantern: EARS publishes no floor; 1 case keeps a silent week (sd 0) from turning one case into an alarm.
  minSd: 1,
  k: 0.5,
  percentile: 80,
  windowDays: 7,
  years: 3,
  minYears: 3,
  windowsAround: 2,
  // Lantern: the recent-weeks adaptation (moving percentile with under `minYears` of history).
  recentWindows: 12,
  minRecentWindows: 6,
};

const BY_METHOD: Record<DetectorMethod, Partial<MethodParams>> = {
  'ears-c1': { guardDays: 0, threshold: 3 },
  'ears-c2': { guardDays: 2, threshold: 3 },
  'ears-c3': { guardDays: 2, threshold: 2 },
  cusum: { guardDays: 2, threshold: 4, k: 0.5 },
  'moving-percentile': {},
};

/**
 * The parameters a method runs with. EARS C1 has no guard band by definition, so a `guardDays`
 * given for C1 is ignored rather than silently turning C1 into C2.
 */
export function methodParamsFor(method: DetectorMethod, given: Partial<MethodParams> = {}): MethodParams {
  const merged = { ...COMMON, ...BY_METHOD[method], ...given };
  return method === 'ears-c1' ? { ...merged, guardDays: 0 } : merged;
}
