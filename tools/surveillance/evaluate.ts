/**
 * The honest evaluation of the surveillance detectors (issue 14): synthetic background counts
 * (simulate.ts), synthetic outbreaks of stated size, shape and start injected into them, and for
 * each method the sensitivity, the false alerts per site-month on outbreak-free background and the
 * days to detection, single-site and across neighbouring sites. Pure computation over a seed; the
 * CLI (cli.ts) writes the report. Nothing here says anything about real data.
 *
 * `evaluateSurveillance` runs to ~95 lines because the three questions (single site, several
 * sites, background) share one replicate's background and are answered from it together.
 */
import { wilson, type Proportion } from '../../inference/proportion.ts';
import { addDays, aggregateSeries, detect, multiPoint, type DetectionDay, type DetectorMethod, type MethodParams, type MultiPointRule } from '../../inference/surveillance/index.ts';
import { percentileOf } from '../../inference/surveillance/moving-percentile.ts';
import type { RatesResult } from './rates.ts';
import { seeded, type Random } from './random.ts';
import { background, inject, OUTBREAK_SHAPES, outbreakCases, outbreakCurve, SIMULATION, simulatedNetwork, type OutbreakShape, type SimulatedSite, type SiteLevel } from './simulate.ts';

export interface MethodVariant { id: string; label: string; method: DetectorMethod; params?: Partial<MethodParams> }

/** Each method at its published (or stated) defaults; the moving percentile both ways a one-year history allows. */
export const METHOD_VARIANTS: readonly MethodVariant[] = [
  { id: 'ears-c1', label: 'EARS C1', method: 'ears-c1' },
  { id: 'ears-c2', label: 'EARS C2', method: 'ears-c2' },
  { id: 'ears-c3', label: 'EARS C3', method: 'ears-c3' },
  { id: 'cusum', label: 'CUSUM (k 0.5, h 4)', method: 'cusum' },
  { id: 'mp-recent', label: 'moving percentile P80, recent-weeks', method: 'moving-percentile' },
  { id: 'mp-seasonal-1y', label: 'moving percentile P80, seasonal (1 past year)', method: 'moving-percentile', params: { years: 1, minYears: 1 } },
];

export const LEVELS: readonly SiteLevel[] = ['village', 'township', 'county'];
export const GROUP_MODES = ['any-site', 'aggregate', 'multi-point'] as const;
export type GroupMode = (typeof GROUP_MODES)[number];

export interface EvaluationOptions {
  replicates: number;
  seed: number;
  /** Outbreak sizes as multiples of the site's mean weekly count. */
  sizes?: readonly number[];
  shapes?: readonly OutbreakShape[];
  /** The several-points rule judged on the neighbouring villages of one township. */
  rule?: MultiPointRule;
  onProgress?: (done: number, total: number) => void;
}

interface Tally { detected: number; n: number; delays: number[]; byChance: number }
interface Quiet { alarms: number; episodes: number; days: number; perReplicate: number[] }

export interface SensitivityRow {
  variant: string;
  size: number;
  sensitivity: Proportion;
  /** The share of the same spans with an alarm on the background alone (no outbreak): what sensitivity owes to chance. */
  byChance: Proportion;
  medianDelay?: number;
  delayIqr?: [number, number];
}
export interface FalseAlertRow {
  variant: string;
  /** 'all', a site level, or a group mode. */
  over: string;
  /** Alarm days per site- (group-) month: each day's alarm is an alert the service raises. */
  perMonth: number;
  ci95: [number, number];
  /** Runs of consecutive alarm days per month: how often someone is called to look afresh. */
  episodesPerMonth: number;
  alarms: number;
  months: number;
}

export interface EvaluationResult {
  options: { replicates: number; seed: number; sizes: number[]; shapes: OutbreakShape[]; rule: MultiPointRule };
  variants: readonly MethodVariant[];
  /** Single-site outbreaks, pooled over shapes and site levels (levels drawn equally often). */
  single: SensitivityRow[];
  singleByShape: (SensitivityRow & { shape: OutbreakShape })[];
  singleByLevel: (SensitivityRow & { level: SiteLevel })[];
  /** Alarm days per site-month on outbreak-free background: all sites, and by level. */
  falseAlerts: FalseAlertRow[];
  /** Outbreaks shared by three neighbouring villages: any village alarming, the group's summed series, the several-points rule. */
  multi: (SensitivityRow & { mode: GroupMode })[];
  /** Alerts per group-month on background for each group mode. */
  groupFalseAlerts: FalseAlertRow[];
  example: ExampleSeries;
  /** Counts or rates, on sites with a denominator (rates.ts); added by the CLI. */
  rates?: RatesResult;
}

/** The first log-normal (else first-shape) single-site outbreak of the middle size, drawn in the report: the counts, the extra cases and each method's alarms. */
export interface ExampleSeries { site: string; level: SiteLevel; shape: OutbreakShape; size: number; start: string; from: number; counts: number[]; extra: number[]; outbreak: [number, number]; alarms: Record<string, number[]> }

const DAY_MONTH = 365.25 / 12;

export function evaluateSurveillance(options: EvaluationOptions): EvaluationResult {
  const sizes = [...(options.sizes ?? [0.5, 1, 2, 4])];
  const shapes = [...(options.shapes ?? OUTBREAK_SHAPES)];
  const rule = options.rule ?? { minSites: 2, withinDays: 3 };
  const single = new Map<string, Tally>();
  const multi = new Map<string, Tally>();
  const quiet = new Map<string, Quiet>();
  const tally = (map: Map<string, Tally>, key: string) => map.get(key) ?? map.set(key, { detected: 0, n: 0, delays: [], byChance: 0 }).get(key)!;
  let example: ExampleSeries | undefined;
  const exampleSize = sizes[Math.floor(sizes.length / 2)];
  const exampleShape = shapes.includes('lognormal') ? 'lognormal' : shapes[0];

  for (let r = 0; r < options.replicates; r++) {
    const random = seeded(options.seed + r * 7919);
    const sites = simulatedNetwork(random);
    const counts = new Map(sites.map((s) => [s.id, background(s, random)]));
    const groups = villageGroups(sites);
    const run = (series: readonly number[], v: MethodVariant) => detect({ start: SIMULATION.start, counts: series }, v.method, v.params);
    const baseline = new Map(sites.map((s) => [s.id, new Map(METHOD_VARIANTS.map((v) => [v.id, run(counts.get(s.id)!, v)]))]));
    const groupBackground = new Map<string, Record<GroupMode, number[]>>();

    // Background: every alarm day in the evaluated year is a false alert.
    for (const v of METHOD_VARIANTS) {
      const evaluatedDays = SIMULATION.days - SIMULATION.evaluatedFrom;
      for (const level of [...LEVELS, 'all'] as const) {
        const at = sites.filter((s) => level === 'all' || s.level === level);
        addQuiet(quiet, `${v.id}|${level}`, at.map((s) => alarmDays(baseline.get(s.id)!.get(v.id)!.map((d) => d.alarm))), at.length * evaluatedDays);
      }
      for (const members of groups) {
        const days = groupVerdicts(members, (id) => baseline.get(id)!.get(v.id)!, (id) => counts.get(id)!, v, rule);
        groupBackground.set(`${v.id}|${members[0].parentId}`, days);
        for (const mode of GROUP_MODES) {
          const alarms = new Array<boolean>(SIMULATION.days).fill(false);
          for (const d of days[mode]) alarms[d] = true;
          addQuiet(quiet, `${v.id}|group|${mode}`, [alarmDays(alarms)], evaluatedDays);
        }
      }
    }

    for (const size of sizes) {
      for (const [s, shape] of shapes.entries()) {
        const curve = outbreakCurve(shape);
        // Single site: levels in turn, so each level is drawn equally often.
        const level = LEVELS[(r + s) % LEVELS.length];
        const candidates = sites.filter((x) => x.level === level);
        const site = candidates[random.below(candidates.length)];
        const start = SIMULATION.evaluatedFrom + 7 + random.below(SIMULATION.days - SIMULATION.evaluatedFrom - 7 - curve.length);
        const end = start + curve.length - 1;
        const injected = inject(counts.get(site.id)!, start, outbreakCases(site, size), curve, random);
        for (const v of METHOD_VARIANTS) {
          const days = run(injected, v);
          const first = firstAlarm(days.map((d) => d.alarm), start, end);
          const chance = firstAlarm(baseline.get(site.id)!.get(v.id)!.map((d) => d.alarm), start, end) !== undefined;
          record(tally(single, `${v.id}|${size}|${shape}|${level}`), first, start, chance);
          if (!example && shape === exampleShape && size === exampleSize) example = exampleOf(site, shape, size, counts.get(site.id)!, injected, start, end);
          if (example && example.site === site.id && example.start === dateOf(start) && !example.alarms[v.id]) example.alarms[v.id] = alarmIndexes(days, example.from, example.counts.length);
        }

        // Three neighbouring villages of one township, each a third of the multiple of its own weekly mean.
        const members = groups[random.below(groups.length)];
        const hit = shuffle([...members], random).slice(0, 3);
        const hitCounts = new Map(hit.map((m) => [m.id, inject(counts.get(m.id)!, start, outbreakCases(m, size / 3), curve, random)]));
        const countsOf = (id: string) => hitCounts.get(id) ?? counts.get(id)!;
        for (const v of METHOD_VARIANTS) {
          const verdicts = groupVerdicts(members, (id) => (hitCounts.has(id) ? run(countsOf(id), v) : baseline.get(id)!.get(v.id)!), countsOf, v, rule);
          const quietVerdicts = groupBackground.get(`${v.id}|${members[0].parentId}`)!;
          for (const mode of GROUP_MODES) {
            const inSpan = (d: number) => d >= start && d <= end;
            record(tally(multi, `${v.id}|${size}|${shape}|${mode}`), verdicts[mode].find(inSpan), start, quietVerdicts[mode].some(inSpan));
          }
        }
      }
    }
    options.onProgress?.(r + 1, options.replicates);
  }

  const row = (variant: string, size: number, tallies: Tally[]): SensitivityRow => {
    const detected = tallies.reduce((a, t) => a + t.detected, 0);
    const delays = tallies.flatMap((t) => t.delays);
    const n = tallies.reduce((a, t) => a + t.n, 0);
    return { variant, size, sensitivity: wilson(detected, n), byChance: wilson(tallies.reduce((a, t) => a + t.byChance, 0), n), ...(delays.length ? { medianDelay: percentileOf(delays, 50), delayIqr: [percentileOf(delays, 25), percentileOf(delays, 75)] as [number, number] } : {}) };
  };
  const pick = (map: Map<string, Tally>, test: (parts: string[]) => boolean) => [...map].filter(([k]) => test(k.split('|'))).map(([, t]) => t);
  const ids = METHOD_VARIANTS.map((v) => v.id);
  return {
    options: { replicates: options.replicates, seed: options.seed, sizes, shapes, rule },
    variants: METHOD_VARIANTS,
    single: ids.flatMap((id) => sizes.map((size) => row(id, size, pick(single, ([v, z]) => v === id && Number(z) === size)))),
    singleByShape: ids.flatMap((id) => shapes.flatMap((shape) => sizes.map((size) => ({ ...row(id, size, pick(single, ([v, z, h]) => v === id && Number(z) === size && h === shape)), shape })))),
    singleByLevel: ids.flatMap((id) => LEVELS.flatMap((level) => sizes.map((size) => ({ ...row(id, size, pick(single, ([v, z, , l]) => v === id && Number(z) === size && l === level)), level })))),
    falseAlerts: ids.flatMap((id) => ['all', ...LEVELS].map((over) => falseRow(id, over, quiet.get(`${id}|${over}`)!))),
    multi: ids.flatMap((id) => GROUP_MODES.flatMap((mode) => sizes.map((size) => ({ ...row(id, size, pick(multi, ([v, z, , m]) => v === id && Number(z) === size && m === mode)), mode })))),
    groupFalseAlerts: ids.flatMap((id) => GROUP_MODES.map((mode) => falseRow(id, mode, quiet.get(`${id}|group|${mode}`)!))),
    example: example!,
  };
}

/** The villages of each township: the neighbour groups of the multi-site outbreaks. */
function villageGroups(sites: readonly SimulatedSite[]): SimulatedSite[][] {
  const townships = sites.filter((s) => s.level === 'township');
  return townships.map((t) => sites.filter((s) => s.parentId === t.id));
}

/** Alarm day indexes of a group three ways: any member alarming, the members' summed series, the several-points rule. */
function groupVerdicts(members: readonly SimulatedSite[], verdicts: (id: string) => DetectionDay[], countsOf: (id: string) => number[], v: MethodVariant, rule: MultiPointRule): Record<GroupMode, number[]> {
  const anySite = new Set<number>();
  for (const m of members) verdicts(m.id).forEach((d, i) => { if (d.alarm) anySite.add(i); });
  const aggregate = detect(aggregateSeries(members.map((m) => ({ start: SIMULATION.start, counts: countsOf(m.id) }))), v.method, v.params);
  const index = new Map(verdicts(members[0].id).map((d, i) => [d.date, i]));
  const alerts = multiPoint(new Map(members.map((m) => [m.id, verdicts(m.id)])), rule);
  return {
    'any-site': [...anySite].sort((a, b) => a - b),
    aggregate: alarmIndexes(aggregate, 0, aggregate.length),
    'multi-point': alerts.map((a) => index.get(a.date)!),
  };
}

/** Alarm days in the evaluated year, and runs of them (a run's first day is an alarm after a quiet day). */
function alarmDays(alarms: readonly boolean[]): { days: number; episodes: number } {
  let days = 0;
  let episodes = 0;
  for (let i = SIMULATION.evaluatedFrom; i < alarms.length; i++) {
    if (!alarms[i]) continue;
    days++;
    if (!alarms[i - 1]) episodes++;
  }
  return { days, episodes };
}

function alarmIndexes(days: readonly DetectionDay[], from: number, length: number): number[] {
  const out: number[] = [];
  for (let i = from; i < from + length; i++) if (days[i].alarm) out.push(i - from);
  return out;
}

function firstAlarm(alarms: readonly boolean[], start: number, end: number): number | undefined {
  for (let i = start; i <= end; i++) if (alarms[i]) return i;
  return undefined;
}

function record(t: Tally, first: number | undefined, start: number, byChance: boolean): void {
  t.n++;
  if (byChance) t.byChance++;
  if (first === undefined) return;
  t.detected++;
  t.delays.push(first - start);
}

function addQuiet(map: Map<string, Quiet>, key: string, counted: readonly { days: number; episodes: number }[], days: number): void {
  const q = map.get(key) ?? map.set(key, { alarms: 0, episodes: 0, days: 0, perReplicate: [] }).get(key)!;
  const alarms = counted.reduce((a, c) => a + c.days, 0);
  q.alarms += alarms;
  q.episodes += counted.reduce((a, c) => a + c.episodes, 0);
  q.days += days;
  q.perReplicate.push(alarms / (days / DAY_MONTH));
}

/** Alarm days per site- (or group-) month, with a normal 95% interval over replicates' rates. */
function falseRow(variant: string, over: string, q: Quiet): FalseAlertRow {
  const n = q.perReplicate.length;
  const mean = q.perReplicate.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(q.perReplicate.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  const half = (1.96 * sd) / Math.sqrt(n);
  return { variant, over, perMonth: q.alarms / (q.days / DAY_MONTH), ci95: [Math.max(0, mean - half), mean + half], episodesPerMonth: q.episodes / (q.days / DAY_MONTH), alarms: q.alarms, months: q.days / DAY_MONTH };
}

function shuffle<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.below(i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

const dateOf = (d: number) => addDays(SIMULATION.start, d);

function exampleOf(site: SimulatedSite, shape: OutbreakShape, size: number, before: number[], after: number[], start: number, end: number): ExampleSeries {
  const from = Math.max(0, start - 70);
  const to = Math.min(SIMULATION.days, end + 30);
  return {
    site: site.id, level: site.level, shape, size, start: dateOf(start), from,
    counts: before.slice(from, to), extra: after.slice(from, to).map((c, i) => c - before[from + i]),
    outbreak: [start - from, end - from], alarms: {},
  };
}
