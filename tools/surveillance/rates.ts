/**
 * Counts or rates? The same question as evaluate.ts asked of a signal with a denominator (AI-positive
 * films per film read): does judging the positivity rather than the count of positives find
 * outbreaks as well, and stay quiet when only the number of films rises (a screening day, a new
 * referral route)? Synthetic, like everything here:
 * - films per day: negative binomial (size 10) around the site's mean count / 0.15, with the
 *   weekday effect; positives: each film positive with probability 0.15 × the season;
 * - outbreak: a 7-day ramp of `size` × the site's weekly mean extra positives, each an extra film;
 * - volume surge: 14 days with 50 % more films at unchanged positivity;
 * - each judged by the policy card's methods (EARS C2, CUSUM) on the count and on the rate.
 */
import { wilson, type Proportion } from '../../inference/proportion.ts';
import { detect, type DailySeries } from '../../inference/surveillance/index.ts';
import { METHOD_VARIANTS, type MethodVariant } from './evaluate.ts';
import { seeded, type Random } from './random.ts';
import { expectedOn, inject, outbreakCases, outbreakCurve, SIMULATION, simulatedNetwork, type SimulatedSite } from './simulate.ts';

const POSITIVITY = 0.15;
const SURGE = { days: 14, extra: 0.5 };
const MEASURES = ['count', 'rate'] as const;
export type Measure = (typeof MEASURES)[number];
const VARIANTS = METHOD_VARIANTS.filter((v) => v.id === 'ears-c2' || v.id === 'cusum');

export interface RatesResult {
  replicates: number;
  sizes: number[];
  rows: { variant: string; measure: Measure; sensitivity: { size: number; value: Proportion }[]; falseAlertsPerSiteMonth: number; surgeAlarmed: Proportion }[];
}

export function evaluateRates(options: { replicates: number; seed: number; sizes: readonly number[] }): RatesResult {
  const tallies = new Map<string, { detected: Map<number, [number, number]>; alarms: number; days: number; surges: [number, number] }>();
  const key = (v: MethodVariant, m: Measure) => `${v.id}|${m}`;
  for (const v of VARIANTS) for (const m of MEASURES) tallies.set(key(v, m), { detected: new Map(options.sizes.map((s) => [s, [0, 0]])), alarms: 0, days: 0, surges: [0, 0] });
  const curve = outbreakCurve('ramp');
  const span = SIMULATION.days - SIMULATION.evaluatedFrom;

  for (let r = 0; r < options.replicates; r++) {
    const random = seeded(options.seed + 104_729 * (r + 1));
    for (const site of simulatedNetwork(random)) {
      const films = filmsOf(site, random);
      const start = () => SIMULATION.evaluatedFrom + 7 + random.below(span - 7 - SURGE.days);
      const surgeStart = start();
      const surged = surge(films, surgeStart, random);
      const outbreaks = options.sizes.map((size) => {
        const at = start();
        const extra = inject(new Array<number>(SIMULATION.days).fill(0), at, outbreakCases(site, size), curve, random);
        return { size, at, series: { ...films, counts: films.counts.map((c, i) => c + extra[i]), denominators: films.denominators!.map((d, i) => d + extra[i]) } };
      });
      for (const v of VARIANTS) {
        for (const m of MEASURES) {
          const t = tallies.get(key(v, m))!;
          const alarms = (series: DailySeries) => detect(m === 'rate' ? series : { start: series.start, counts: series.counts }, v.method, v.params).map((d) => d.alarm);
          const quiet = alarms(films);
          t.alarms += quiet.slice(SIMULATION.evaluatedFrom).filter(Boolean).length;
          t.days += span;
          const during = (a: boolean[], from: number, days: number) => a.slice(from, from + days).some(Boolean);
          // A surge counts against the method only if it alarmed in those days and the background alone did not.
          if (!during(quiet, surgeStart, SURGE.days)) {
            t.surges[1]++;
            if (during(alarms(surged), surgeStart, SURGE.days)) t.surges[0]++;
          }
          for (const o of outbreaks) {
            const d = t.detected.get(o.size)!;
            d[1]++;
            if (during(alarms(o.series), o.at, curve.length)) d[0]++;
          }
        }
      }
    }
  }
  return {
    replicates: options.replicates,
    sizes: [...options.sizes],
    rows: VARIANTS.flatMap((v) => MEASURES.map((m) => {
      const t = tallies.get(key(v, m))!;
      return {
        variant: v.id, measure: m,
        sensitivity: options.sizes.map((size) => ({ size, value: wilson(...t.detected.get(size)!) })),
        falseAlertsPerSiteMonth: t.alarms / (t.days / (365.25 / 12)),
        surgeAlarmed: wilson(...t.surges),
      };
    })),
  };
}

/** A site's films and positive films per day. */
function filmsOf(site: SimulatedSite, random: Random): DailySeries {
  const denominators: number[] = [];
  const counts: number[] = [];
  for (let d = 0; d < SIMULATION.days; d++) {
    // expectedOn = mean × weekday × season: the films carry the weekday effect, the positivity the season.
    const films = random.negativeBinomial(expectedOn(site, d) / seasonOf(d) / POSITIVITY, SIMULATION.dispersionSize);
    denominators.push(films);
    counts.push(binomial(films, POSITIVITY * seasonOf(d), random));
  }
  return { start: SIMULATION.start, counts, denominators };
}

/** The simulation's season factor on day d (as in expectedOn). */
const seasonOf = (d: number) => 1 + SIMULATION.seasonalAmplitude * Math.cos((2 * Math.PI * (d - SIMULATION.seasonalPeakDay)) / 365.25);

/** The same films with 50 % more on the surge's days, at the same positivity. */
function surge(films: DailySeries, start: number, random: Random): DailySeries {
  const counts = [...films.counts];
  const denominators = [...films.denominators!];
  for (let d = start; d < start + SURGE.days; d++) {
    const extra = random.poisson(SURGE.extra * films.denominators![d]);
    denominators[d] += extra;
    counts[d] += binomial(extra, POSITIVITY * seasonOf(d), random);
  }
  return { start: films.start, counts, denominators };
}

function binomial(n: number, p: number, random: Random): number {
  let k = 0;
  for (let i = 0; i < n; i++) if (random.next() < p) k++;
  return k;
}
