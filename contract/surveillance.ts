import { z } from 'zod';

/**
 * Multi-point surveillance (传染病多点触发监测预警): which outbreak-detection method watches which
 * daily signal, with which parameters, and when several sites rising together make one alert.
 * The policy is a declarative card (`models/surveillance-policy/model.json`), checked at start by
 * `inference/surveillance/policy.ts`; the methods are in `inference/surveillance/` and documented
 * with their formulas in docs/network.md ("Surveillance: methods and evaluation").
 *
 * (Others append the surveillance API's schemas below this card's.)
 */

export const DETECTOR_METHODS = ['ears-c1', 'ears-c2', 'ears-c3', 'cusum', 'moving-percentile'] as const;
export const detectorMethod = z.enum(DETECTOR_METHODS);
export type DetectorMethod = z.infer<typeof detectorMethod>;

/**
 * Every tunable of every method; a method reads only its own (see `inference/surveillance/params.ts`
 * for the defaults and which method reads what). All in days unless said otherwise.
 */
export const methodParams = z.object({
  /** EARS / CUSUM: days in the moving baseline (EARS: 7). */
  baselineDays: z.number().int().min(2).max(56),
  /** EARS C2/C3 and CUSUM: days skipped between the baseline and the day tested (EARS C2: 2). */
  guardDays: z.number().int().min(0).max(28),
  /** Fewest usable baseline days (a day with a zero denominator is unusable for a rate) before a day is tested. */
  minBaselineDays: z.number().int().min(2).max(56),
  /** Alarm when the statistic exceeds this: EARS C1/C2 3 (standard deviations), C3 2, CUSUM h 4. Unused by the percentile method. */
  threshold: z.number().positive().max(100),
  /** Floor of the baseline standard deviation, in cases at the day's denominator: a silent baseline does not make one case an alarm. */
  minSd: z.number().positive().max(1000),
  /** CUSUM reference value k, in standard deviations. */
  k: z.number().min(0).max(10),
  /** Moving percentile: the percentile of historical 7-day counts the current 7-day count must exceed (CIDARS: P50 or P80). */
  percentile: z.number().gt(0).lt(100),
  /** Moving percentile: days summed into one window (CIDARS: 7). */
  windowDays: z.number().int().min(1).max(28),
  /** Moving percentile, seasonal: past years looked at (CIDARS: 3), and the fewest that must be present to use them. */
  years: z.number().int().min(1).max(10),
  minYears: z.number().int().min(1).max(10),
  /** Moving percentile, seasonal: windows either side of the same calendar window in each past year (CIDARS: 2, so 5 per year). */
  windowsAround: z.number().int().min(0).max(8),
  /** Moving percentile, recent-weeks (the adaptation for short history): preceding windows used, and the fewest needed. */
  recentWindows: z.number().int().min(2).max(104),
  minRecentWindows: z.number().int().min(2).max(104),
}).strict();
export type MethodParams = z.infer<typeof methodParams>;

/** Several points rising together: an alert when at least `minSites` sites of a group alarm within `withinDays` days. */
export const multiPointRule = z.object({
  minSites: z.number().int().min(2).max(100),
  withinDays: z.number().int().min(1).max(28),
}).strict();
export type MultiPointRule = z.infer<typeof multiPointRule>;

/**
 * A signal id the counting side produces: `ai-positive:<label>`, `reader-confirmed:<label>`, `fever`,
 * `tachypnoea`, `consultation:<recommendation>`. A policy entry may end in `*` to match every signal
 * with that prefix (`ai-positive:*`), and `*` alone is the default every policy must have.
 */
export const signalPattern = z.string().regex(/^(\*|[a-z][a-z0-9-]*(:([a-z0-9][a-z0-9._-]*|\*))?)$/, 'a signal id (fever, ai-positive:pneumonia), a prefix pattern (ai-positive:*) or * for the default');

export const signalDetection = z.object({
  method: detectorMethod,
  params: methodParams.partial().default({}),
}).strict();

export const signalPolicy = z.object({
  signal: signalPattern,
  /** Rates (count against the day's denominator, e.g. positives per study) or plain counts. */
  measure: z.enum(['count', 'rate']),
  methods: z.array(signalDetection).min(1).max(DETECTOR_METHODS.length),
  /** Neighbour groups (sites sharing a parent): run the same methods on the group's summed series too. */
  aggregate: z.boolean(),
  /** The several-points rule over the group's sites, judged on the alarms of `rule.method` (one of `methods`). */
  multiPoint: multiPointRule.extend({ method: detectorMethod }).strict().optional(),
}).strict();
export type SignalPolicy = z.infer<typeof signalPolicy>;

export const surveillancePolicyCard = z.object({
  schemaVersion: z.literal(1),
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  version: z.string().regex(/^\d+\.\d+\.\d+$/, 'semantic version'),
  task: z.literal('surveillance'),
  title: z.string().min(1),
  titleZh: z.string().min(1),
  intendedUse: z.string().min(1),
  limitations: z.array(z.string().min(1)).min(1),
  /** Where the methods come from and where they were evaluated. */
  source: z.object({ references: z.array(z.string().min(1)).min(1), evaluation: z.string().min(1) }).strict(),
  signals: z.array(signalPolicy).min(1),
}).strict();
export type SurveillancePolicyCard = z.infer<typeof surveillancePolicyCard>;
