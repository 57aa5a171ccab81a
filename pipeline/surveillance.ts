/**
 * Multi-point surveillance in the running system: the daily detection run (counts recomputed from
 * the facts, each signal's series per site run through the policy's methods, the neighbour
 * groups' summed series, the several-points rule, alerts raised with their evidence) and the
 * series the surveillance screen draws. The methods are inference/surveillance's; which signal
 * uses which is the policy card's (models/surveillance-policy). `createSurveillance` is one closure
 * of ~130 lines: the run and the screen's series share its series loader and the policy.
 */
import { createHash } from 'node:crypto';
import type { DetectorMethod, SignalPolicy } from '../contract/surveillance.ts';
import {
  addDays, aggregateSeries, detect, groupsByParent, methodParamsFor, multiPoint, policyFor, type DailySeries, type DetectionDay, type SurveillancePolicy,
} from '../inference/surveillance/index.ts';
import { dayNumber } from '../inference/surveillance/series.ts';
import type { LoadedModel } from '../inference/registry.ts';
import { ALL_SITES, type SiteScope, type Store } from '../store/store.ts';
import { DENOMINATOR_SIGNALS, type CountRow, type SurveillanceAlertInput, type SurveillanceWithdrawal } from '../store/surveillance.ts';

/**
 * What a case is. Fever: a temperature of 38.0 °C or more (the common clinical and
 * syndromic-surveillance definition; NEWS2 itself scores from 38.1). Tachypnoea: a respiratory
 * rate of 21/min or more (the rate at which NEWS2 starts to score, 21–24 = 2 points).
 */
export const CASE_DEFINITIONS = { feverCelsius: 38.0, tachypnoeaPerMin: 21 } as const;

/** Said with every series and alert: what the numbers are and are not. */
export const SURVEILLANCE_NOTICE = 'AI-assisted surveillance: counts include AI findings (applicable, clinical models) and bedside assessments; an alert is a statistical prompt to look at the series and its sites, not a diagnosis of an outbreak.';

/** The actor of what the scheduled run writes. */
export const SURVEILLANCE_ACTOR = 'system:surveillance';

/** Days of series an alert's evidence carries, ending on its day. */
const EVIDENCE_DAYS = 28;

/** Days of history before the first day a caller asks to see, so the first days shown have a baseline. */
const DISPLAY_BASELINE_DAYS = 35;

/**
 * The ids of the read-assist models whose findings clinicians see: only their findings count as
 * `ai-positive` (an evaluate-only model's do not; a shadow run's are never read, store/clinical-findings.ts).
 */
export const clinicalModelIds = (models: readonly LoadedModel[]) =>
  models.filter((m) => m.card.task === 'read-assist' && (m.card.deployment === 'clinical' || m.card.deployment === 'canary')).map((m) => m.card.id);

/** The denominator a case signal's rate is out of. */
export function denominatorOf(signal: string): string {
  if (signal === 'fever' || signal === 'tachypnoea') return DENOMINATOR_SIGNALS.assessments;
  if (signal.startsWith('consultation:')) return DENOMINATOR_SIGNALS.consultations;
  return DENOMINATOR_SIGNALS.studies;
}

/** Today's date (YYYY-MM-DD) in `timeZone`; `offsetDays` -1 for yesterday. */
export function localDate(timeZone: string, offsetDays = 0, now = new Date()): string {
  const today = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
  return addDays(today, offsetDays);
}

export interface SurveillanceOptions {
  store: Store;
  policy: SurveillancePolicy;
  /** IANA zone whose calendar days are counted (config LANTERN_TIMEZONE). */
  timeZone: string;
  /** Model ids whose positive findings count: the read-assist models served on incoming studies. */
  clinicalModels: readonly string[];
}

export interface SurveillanceRunSummary {
  day: string;
  policy: string;
  from: string;
  countsWritten: number;
  signals: number;
  /** Alerts raised by this run (a second run of the same day raises none). */
  raised: string[];
  /** Open alerts this run withdrew: their day no longer alarms on the recomputed counts. */
  withdrawn: string[];
}

/** One site's series of one signal, as the screen draws it. */
export interface SiteSeries {
  siteId: string;
  name: string;
  level: string;
  parentId?: string;
  counts: number[];
  denominators?: number[];
  /** The display method's verdict per day: expected cases, the alarm line, whether it alarmed (absent: not tested). */
  detection: ({ expected: number; upper: number; alarm: boolean } | null)[];
}

export interface SignalSeries {
  signal: string;
  measure: SignalPolicy['measure'];
  denominator: string;
  from: string;
  to: string;
  /** The method whose baseline and threshold are drawn. */
  method: DetectorMethod;
  sites: SiteSeries[];
}

export type Surveillance = ReturnType<typeof createSurveillance>;

export function createSurveillance(options: SurveillanceOptions) {
  const { store, policy } = options;
  const card = policy.card;
  const history = historyDays(card.signals);

  /** Counts of `signals` and their denominators over [from, to], as zero-filled series per site and signal. */
  async function loadSeries(signals: readonly string[], from: string, to: string, scope: SiteScope) {
    const wanted = [...new Set([...signals, ...signals.map(denominatorOf)])];
    const rows = await store.surveillanceCounts({ signals: wanted, from, to }, scope);
    const length = dayNumber(to) - dayNumber(from) + 1;
    const bySiteSignal = new Map<string, number[]>();
    const put = (row: CountRow) => {
      const key = `${row.siteId}|${row.signal}`;
      const values = bySiteSignal.get(key) ?? new Array<number>(length).fill(0);
      values[dayNumber(row.day) - dayNumber(from)] = row.count;
      bySiteSignal.set(key, values);
    };
    rows.forEach(put);
    return (siteId: string, signal: string): DailySeries => {
      const entry = policyFor(card, signal);
      const zeros = () => new Array<number>(length).fill(0);
      const counts = bySiteSignal.get(`${siteId}|${signal}`) ?? zeros();
      return entry.measure === 'rate'
        ? { start: from, counts, denominators: bySiteSignal.get(`${siteId}|${denominatorOf(signal)}`) ?? zeros() }
        : { start: from, counts };
    };
  }

  return {
    policy,
    timeZone: options.timeZone,

    /**
     * The detection run for one local day (default: yesterday, the last whole day).
     *
     * Contract: safe to run any number of times. Counts are recomputed over the history the
     * policy's methods need (idempotent), then each signal with a case in that history is
     * judged at every site, for each neighbour group's sum, and by the several-points rule; an
     * alarm on `day` becomes an alert whose id derives from policy version, signal, scope, day
     * and method, so a second run raises nothing new. The days of this policy's open alerts in
     * the EVIDENCE_DAYS before `day` (and `day` itself) are judged again on the recomputed
     * counts: an open alert whose day no longer alarms is withdrawn, with the verdict that says
     * so. Raising and withdrawing are each one audited transaction.
     */
    async run(day = localDate(options.timeZone, -1), requestedBy?: string): Promise<SurveillanceRunSummary> {
      dayNumber(day);
      const recheckFrom = addDays(day, -EVIDENCE_DAYS);
      // History enough for the earliest day judged again, not only for `day`.
      const from = addDays(recheckFrom, -history);
      const countsWritten = await store.recomputeSurveillanceCounts({ from, to: day }, {
        timeZone: options.timeZone, clinicalModels: options.clinicalModels, ...CASE_DEFINITIONS,
      });
      const open = await store.openSurveillanceAlerts({ policyId: card.id, policyVersion: card.version, from: recheckFrom, to: day });
      const judgedDays = new Set([day, ...open.map((a) => a.day)]);
      const sites = await store.listSites();
      const groups = [...groupsByParent(sites)].filter(([, members]) => members.length >= 2);
      const signals = (await store.surveillanceSignals({ from, to: day }, ALL_SITES)).map((s) => s.signal);
      const seriesOf = await loadSeries(signals, from, day, ALL_SITES);
      /** Every alarm on a judged day, and the verdict of every site's and group's judged day, by alert id. */
      const alarms: SurveillanceAlertInput[] = [];
      const verdicts = new Map<string, DetectionDay>();
      const alertOf = (signal: string, method: string, scopeKind: SurveillanceAlertInput['scopeKind'], scopeId: string, alarmDay: string, alertSites: readonly string[], evidence: Record<string, unknown>): SurveillanceAlertInput => ({
        id: alertId(policy.key, signal, scopeKind, scopeId, alarmDay, method), policyId: card.id, policyVersion: card.version,
        signal, scopeKind, scopeId, day: alarmDay, method, sites: alertSites,
        evidence: { measure: policyFor(card, signal).measure, denominator: denominatorOf(signal), ...(requestedBy && { requestedBy }), ...evidence },
      });
      /** One series' verdicts on the judged days: each remembered, each alarm an alert. */
      const judge = (signal: string, method: DetectorMethod, scopeKind: 'site' | 'group', scopeId: string, alertSites: readonly string[], series: DailySeries, days: DetectionDay[]) => {
        for (const verdictDay of days.filter((d) => judgedDays.has(d.date))) {
          verdicts.set(alertId(policy.key, signal, scopeKind, scopeId, verdictDay.date, method), verdictDay);
          if (verdictDay.alarm) alarms.push(alertOf(signal, method, scopeKind, scopeId, verdictDay.date, alertSites, { ...verdict(verdictDay), series: window(series, verdictDay.date) }));
        }
      };

      for (const signal of signals) {
        const entry = policyFor(card, signal);
        const judged = new Map<DetectorMethod, Map<string, DetectionDay[]>>();
        for (const site of sites) {
          const series = seriesOf(site.id, signal);
          if (!series.counts.some((c) => c > 0)) continue; // a site without a case in the history cannot alarm
          for (const { method, params } of entry.methods) {
            const days = detect(series, method, params);
            judged.set(method, (judged.get(method) ?? new Map()).set(site.id, days));
            judge(signal, method, 'site', site.id, [site.id], series, days);
          }
        }
        for (const [parent, members] of groups) {
          if (entry.aggregate) {
            const summed = aggregateSeries(members.map((m) => seriesOf(m, signal)));
            for (const { method, params } of entry.methods) judge(signal, method, 'group', parent, members, summed, detect(summed, method, params));
          }
          const rule = entry.multiPoint;
          if (!rule) continue;
          const perSite = new Map([...(judged.get(rule.method) ?? [])].filter(([site]) => members.includes(site)));
          for (const raised of multiPoint(perSite, rule).filter((a) => judgedDays.has(a.date))) {
            alarms.push(alertOf(signal, rule.method, 'multi-point', parent, raised.date, raised.sites, {
              rule: { minSites: rule.minSites, withinDays: rule.withinDays }, from: raised.from,
              siteAlarms: raised.alarms.map(({ site, day: alarmDay }) => ({ site, ...verdict(alarmDay) })),
              siteSeries: Object.fromEntries(raised.sites.map((site) => [site, window(seriesOf(site, signal), raised.date)])),
            }));
          }
        }
      }
      const raised = await store.raiseSurveillanceAlerts(alarms.filter((a) => a.day === day), SURVEILLANCE_ACTOR);
      const stillAlarming = new Set(alarms.map((a) => a.id));
      const withdrawals = new Map(open.filter((a) => !stillAlarming.has(a.id)).map((a) => [a.id, withdrawalOf(a, day, verdicts.get(a.id))]));
      const withdrawn = await store.withdrawSurveillanceAlerts(withdrawals, SURVEILLANCE_ACTOR);
      return { day, policy: policy.key, from, countsWritten, signals: signals.length, raised, withdrawn };
    },

    /** Each site's series of `signal` over [from, to] within `scope`, with the display method's baseline and alarms. */
    async series(query: { signal: string; from: string; to: string }, scope: SiteScope): Promise<SignalSeries> {
      const entry = policyFor(card, query.signal);
      const method = displayMethod(entry);
      const loadFrom = addDays(query.from, -DISPLAY_BASELINE_DAYS);
      const seriesOf = await loadSeries([query.signal], loadFrom, query.to, scope);
      const sites = (await store.listSites()).filter((s) => scope === ALL_SITES || scope.includes(s.id));
      const skip = DISPLAY_BASELINE_DAYS;
      const params = entry.methods.find((m) => m.method === method)?.params;
      return {
        signal: query.signal, measure: entry.measure, denominator: denominatorOf(query.signal), from: query.from, to: query.to, method,
        sites: sites.map((site) => {
          const series = seriesOf(site.id, query.signal);
          const days = detect(series, method, params).slice(skip);
          return {
            siteId: site.id, name: site.name, level: site.level, ...(site.parentId && { parentId: site.parentId }),
            counts: series.counts.slice(skip),
            ...(series.denominators && { denominators: series.denominators.slice(skip) }),
            detection: days.map((d) => (d.untested || d.baseline.mean === undefined ? null : {
              expected: d.baseline.mean, upper: d.baseline.percentile ?? d.baseline.mean + d.threshold * (d.baseline.sd ?? 0), alarm: d.alarm,
            })),
          };
        }),
      };
    },
  };
}

/** The days of history the policy's methods need before the day judged (the seasonal percentile: its years), with a month's slack for rate baselines that skip days without a denominator. */
function historyDays(signals: readonly SignalPolicy[]): number {
  const needs = signals.flatMap((s) => s.methods.map(({ method, params }) => {
    const p = methodParamsFor(method, params);
    return method === 'moving-percentile'
      ? Math.max(p.years * 366 + (p.windowsAround + 1) * p.windowDays, (p.recentWindows + 1) * p.windowDays)
      : p.baselineDays + p.guardDays + 3;
  }));
  return Math.max(...needs) + 28;
}

/** The method the screen draws a baseline band for: the first EARS method of the signal (a daily baseline), else its first. */
function displayMethod(entry: SignalPolicy): DetectorMethod {
  return (entry.methods.find((m) => m.method.startsWith('ears-')) ?? entry.methods[0]).method;
}

function alertId(policyKey: string, signal: string, kind: string, scopeId: string, day: string, method: string): string {
  return `sa-${createHash('sha256').update([policyKey, signal, `${kind}:${scopeId}`, day, method].join('|')).digest('hex').slice(0, 32)}`;
}

const verdict = (d: DetectionDay) => ({ date: d.date, statistic: d.statistic, threshold: d.threshold, baseline: d.baseline });

/** Why an open alert is withdrawn by the run of `runDay`: its day's verdict now, when its site or group was judged at all. */
function withdrawalOf(alert: SurveillanceAlertInput, runDay: string, now: DetectionDay | undefined): SurveillanceWithdrawal {
  const where = `${alert.signal}, ${alert.scopeKind} ${alert.scopeId}, ${alert.day} (${alert.method})`;
  const why = alert.scopeKind === 'multi-point' ? 'too few of its sites alarm together now'
    : !now ? 'no case is left in its history'
    : now.untested ? `it can no longer be tested (${now.untested})`
    : `its statistic is ${round(now.statistic)}, not above the threshold ${round(now.threshold)}`;
  return { runDay, reason: `${where} no longer alarms on the counts recomputed by the run of ${runDay}: ${why}.`, ...(now && { verdict: verdict(now) }) };
}

const round = (x: number) => Math.round(x * 100) / 100;

/** The last EVIDENCE_DAYS of a series, ending on `day`. */
function window(series: DailySeries, day: string): DailySeries {
  const end = dayNumber(day) - dayNumber(series.start) + 1;
  const start = Math.max(0, end - EVIDENCE_DAYS);
  return {
    start: addDays(series.start, start),
    counts: series.counts.slice(start, end),
    ...(series.denominators && { denominators: series.denominators.slice(start, end) }),
  };
}
