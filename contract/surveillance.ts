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

// ---- The surveillance API (`/v1/surveillance/…`): counts per site, alerts, acknowledgement. ----

/** A local calendar day, `YYYY-MM-DD` (the installation's LANTERN_TIMEZONE). */
export const calendarDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD')
  .refine((d) => new Date(`${d}T00:00:00Z`).toISOString().slice(0, 10) === d, 'not a calendar date');

/** A signal the counts hold: `fever`, `tachypnoea`, `ai-positive:<label>`, `reader-confirmed:<label>`, `consultation:<recommendation>`. */
export const signalId = z.string().max(120).regex(/^[a-z][a-z0-9-]*(:[a-z0-9][a-z0-9._-]*)?$/, 'a signal id such as fever or ai-positive:pneumonia');

/** The longest span one series request covers: a year and a day. */
export const MAX_SERIES_DAYS = 366;

const daysBetween = (from: string, to: string) => (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000;

/** `GET /v1/surveillance/series`. */
export const surveillanceSeriesQuery = z.object({
  signal: signalId,
  from: calendarDate,
  to: calendarDate,
}).strict()
  .refine((q) => q.to >= q.from, { message: '`to` must not be before `from`', path: ['to'] })
  .refine((q) => daysBetween(q.from, q.to) < MAX_SERIES_DAYS, { message: `at most ${MAX_SERIES_DAYS} days`, path: ['to'] });

const dailySeries = z.object({
  start: calendarDate,
  counts: z.array(z.number()),
  denominators: z.array(z.number()).optional(),
});

export const surveillanceSeries = z.object({
  signal: z.string(),
  /** Whether the policy judges the signal as a rate (cases per `denominator`) or a plain count. */
  measure: z.enum(['count', 'rate']),
  /** What the rate is out of: `studies` (imaging signals), `assessments` (fever, tachypnoea), `consultations`. */
  denominator: z.string(),
  from: calendarDate,
  to: calendarDate,
  /** The method whose baseline and alarm line are given per day. */
  method: detectorMethod,
  sites: z.array(z.object({
    siteId: z.string(),
    name: z.string(),
    level: z.string(),
    parentId: z.string().optional(),
    /** One per day from `from` to `to`. */
    counts: z.array(z.number()),
    denominators: z.array(z.number()).optional(),
    /** Per day: expected cases, the alarm line (cases), whether the method alarmed; null on a day it could not judge (short baseline, no denominator). */
    detection: z.array(z.object({ expected: z.number(), upper: z.number(), alarm: z.boolean() }).nullable()),
  })),
  aiAssisted: z.string(),
}).meta({ id: 'SurveillanceSeries' });

/** `GET /v1/surveillance/signals`: `from`/`to` default to the last 90 days. */
export const surveillanceSignalsQuery = z.object({ from: calendarDate.optional(), to: calendarDate.optional() }).strict();

export const surveillanceSignalList = z.object({
  from: calendarDate,
  to: calendarDate,
  items: z.array(z.object({
    signal: z.string(),
    /** Cases counted in [from, to] at the caller's sites. */
    total: z.number().int(),
    measure: z.enum(['count', 'rate']),
    denominator: z.string(),
    methods: z.array(detectorMethod),
    /** For `ai-positive:<label>` and `reader-confirmed:<label>`: the label's names from the model cards. */
    label: z.object({ display: z.string(), displayZh: z.string().optional() }).optional(),
  })),
  policy: z.object({ id: z.string(), version: z.string() }),
}).meta({ id: 'SurveillanceSignalList' });

const detectionVerdict = z.object({
  date: calendarDate,
  statistic: z.number(),
  threshold: z.number(),
  baseline: z.object({ mean: z.number().optional(), sd: z.number().optional(), percentile: z.number().optional(), days: z.number(), basis: z.string().optional() }),
});

/** What an alert was raised on: a site's or group's verdict with its series window, or (multi-point) each site's alarm and series. */
export const surveillanceEvidence = z.object({
  measure: z.enum(['count', 'rate']),
  denominator: z.string(),
  /** The admin who asked for the run, when it was not the daily schedule. */
  requestedBy: z.string().optional(),
  series: dailySeries.optional(),
  rule: z.object({ minSites: z.number(), withinDays: z.number() }).optional(),
  from: calendarDate.optional(),
  siteAlarms: z.array(detectionVerdict.extend({ site: z.string() })).optional(),
  siteSeries: z.record(z.string(), dailySeries).optional(),
}).extend(detectionVerdict.partial().shape);

export const SURVEILLANCE_ALERT_SCOPES = ['site', 'group', 'multi-point'] as const;
export const SURVEILLANCE_ALERT_STATUSES = ['open', 'acknowledged', 'withdrawn'] as const;

export const surveillanceAlert = z.object({
  id: z.string(),
  policyId: z.string(),
  policyVersion: z.string(),
  signal: z.string(),
  /** One site, a neighbour group's summed series (scopeId = the parent site), or several sites of a group rising together. */
  scopeKind: z.enum(SURVEILLANCE_ALERT_SCOPES),
  scopeId: z.string(),
  day: calendarDate,
  method: detectorMethod,
  sites: z.array(z.string()),
  evidence: surveillanceEvidence,
  /** `withdrawn`: its day no longer alarms on recomputed counts (see `withdrawal`). */
  status: z.enum(SURVEILLANCE_ALERT_STATUSES),
  raisedAt: z.string(),
  acknowledgement: z.object({ by: z.string(), at: z.string(), note: z.string() }).optional(),
  /** When and why a later run withdrew it: that run's day, and (one site's or group's alert) the verdict on the alert's day with the counts it recomputed. */
  withdrawal: z.object({ at: z.string(), runDay: calendarDate, reason: z.string(), verdict: detectionVerdict.optional() }).optional(),
}).meta({ id: 'SurveillanceAlert' });

export const surveillanceAlertsQuery = z.object({
  status: z.enum(SURVEILLANCE_ALERT_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
}).strict();

export const surveillanceAlertList = z.object({ items: z.array(surveillanceAlert), aiAssisted: z.string() }).meta({ id: 'SurveillanceAlertList' });

/** `POST /v1/surveillance/alerts/{id}/acknowledge`: who acknowledges is the signed-in user. */
export const surveillanceAcknowledgeRequest = z.object({ note: z.string().trim().min(1).max(2000) }).strict();

export const surveillanceAlertParams = z.object({ id: z.string().regex(/^sa-[0-9a-f]{32}$/, 'an alert id') });

/** `POST /v1/surveillance/run` (admins): the detection run for one local day, default yesterday. */
export const surveillanceRunRequest = z.object({ date: calendarDate.optional() }).strict();

export const surveillanceRunSummary = z.object({
  day: calendarDate,
  policy: z.string(),
  /** First day of the history recomputed and judged. */
  from: calendarDate,
  countsWritten: z.number().int(),
  signals: z.number().int(),
  /** Alerts raised by this run; a second run of the same day raises none. */
  raised: z.array(z.string()),
  /** Open alerts of the days re-judged (this day and the EVIDENCE window before it) that no longer alarm: withdrawn by this run. */
  withdrawn: z.array(z.string()),
}).meta({ id: 'SurveillanceRunSummary' });

export type SurveillanceSeries = z.infer<typeof surveillanceSeries>;
export type SurveillanceSignalList = z.infer<typeof surveillanceSignalList>;
export type SurveillanceAlert = z.infer<typeof surveillanceAlert>;
export type SurveillanceRunSummary = z.infer<typeof surveillanceRunSummary>;
