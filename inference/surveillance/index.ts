/**
 * Outbreak detection for multi-point surveillance: pure functions over daily series (no I/O),
 * and the loader of the policy card saying which signal uses which method. The formulas and
 * their references are in each method's file and in docs/network.md.
 */
export type { DetectorMethod, MethodParams, MultiPointRule, SignalPolicy, SurveillancePolicyCard } from '../../contract/surveillance.ts';
export { detect } from './detect.ts';
export type { DetectionDay } from './detection.ts';
export { multiPoint, type MultiPointAlarm } from './multi-point.ts';
export { methodParamsFor } from './params.ts';
export { loadSurveillancePolicy, policyFor, type SurveillancePolicy } from './policy.ts';
export { addDays, aggregateSeries, dayNumber, groupsByParent, SurveillanceInputError, type DailySeries } from './series.ts';
