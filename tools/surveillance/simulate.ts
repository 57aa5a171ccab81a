import { addDays } from '../../inference/surveillance/index.ts';
import type { Random } from './random.ts';

/**
 * The synthetic network and its counts. Every choice here is stated in the report, because the
 * evaluation says nothing beyond it:
 * - 20 sites: one county hospital (8–20 cases a day), four townships (2–6), fifteen villages
 *   (0.5–2) under the townships (4, 4, 4, 3); means drawn uniformly in those ranges;
 * - weekday effect: Monday 1.15 … Saturday 0.8, Sunday 0.65 (normalised to a weekly mean of 1);
 * - seasonality: × (1 + 0.2 cos(2π (day − 15 January) / 365.25)), a mild winter peak;
 * - overdispersion: negative binomial with size 10 (variance μ + μ²/10);
 * - two years from 2025-01-01: the first is history only, the second is evaluated.
 */

export type SiteLevel = 'village' | 'township' | 'county';
export interface SimulatedSite { id: string; level: SiteLevel; parentId?: string; mean: number }

export const SIMULATION = {
  start: '2025-01-01',
  days: 730,
  /** First evaluated day: the first year is history. */
  evaluatedFrom: 365,
  dispersionSize: 10,
  seasonalAmplitude: 0.2,
  seasonalPeakDay: 14,
  /** Monday … Sunday. */
  weekday: [1.15, 1.1, 1.05, 1.05, 1.0, 0.8, 0.65],
  means: { village: [0.5, 2], township: [2, 6], county: [8, 20] } as Record<SiteLevel, [number, number]>,
  villagesPerTownship: [4, 4, 4, 3],
} as const;

const WEEKDAY_MEAN = SIMULATION.weekday.reduce((a, b) => a + b, 0) / 7;

export function simulatedNetwork(random: Random): SimulatedSite[] {
  const draw = (level: SiteLevel) => {
    const [lo, hi] = SIMULATION.means[level];
    return lo + (hi - lo) * random.next();
  };
  const sites: SimulatedSite[] = [{ id: 'county-1', level: 'county', mean: draw('county') }];
  SIMULATION.villagesPerTownship.forEach((villages, t) => {
    const township = `township-${t + 1}`;
    sites.push({ id: township, level: 'township', parentId: 'county-1', mean: draw('township') });
    for (let v = 0; v < villages; v++) sites.push({ id: `village-${t + 1}-${v + 1}`, level: 'village', parentId: township, mean: draw('village') });
  });
  return sites;
}

/** The expected count of a site on day `d` (weekday and season applied to its mean). */
export function expectedOn(site: SimulatedSite, d: number): number {
  const weekday = (new Date(`${addDays(SIMULATION.start, d)}T00:00:00Z`).getUTCDay() + 6) % 7;
  const season = 1 + SIMULATION.seasonalAmplitude * Math.cos((2 * Math.PI * (d - SIMULATION.seasonalPeakDay)) / 365.25);
  return site.mean * (SIMULATION.weekday[weekday] / WEEKDAY_MEAN) * season;
}

export function background(site: SimulatedSite, random: Random): number[] {
  return Array.from({ length: SIMULATION.days }, (_, d) => random.negativeBinomial(expectedOn(site, d), SIMULATION.dispersionSize));
}

export type OutbreakShape = 'spike' | 'ramp' | 'lognormal';
export const OUTBREAK_SHAPES: readonly OutbreakShape[] = ['spike', 'ramp', 'lognormal'];

/**
 * Share of an outbreak's extra cases on each of its days:
 * - spike: all on one day (a point-source cluster reported together);
 * - ramp: 7 days rising linearly (1, 2, … 7 twenty-eighths);
 * - lognormal: 14 days of a log-normal epidemic curve, median 4 days, σ 0.6 (Sartwell's
 *   incubation-period shape for a point source), integrated per day and renormalised.
 */
export function outbreakCurve(shape: OutbreakShape): number[] {
  if (shape === 'spike') return [1];
  if (shape === 'ramp') return Array.from({ length: 7 }, (_, i) => (i + 1) / 28);
  const cdf = (x: number) => (x <= 0 ? 0 : 0.5 * (1 + erf(Math.log(x / 4) / (0.6 * Math.SQRT2))));
  const raw = Array.from({ length: 14 }, (_, i) => cdf(i + 1) - cdf(i));
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((r) => r / sum);
}

/** Abramowitz & Stegun 7.1.26 (error < 1.5e-7): enough for a curve's daily shares. */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

/** Exactly `cases` extra cases spread over the curve's days (each case's day drawn from the curve), added from day `start`. */
export function inject(counts: readonly number[], start: number, cases: number, curve: readonly number[], random: Random): number[] {
  const out = [...counts];
  for (let c = 0; c < cases; c++) {
    let u = random.next();
    let day = 0;
    while (day < curve.length - 1 && u >= curve[day]) u -= curve[day++];
    out[start + day] += 1;
  }
  return out;
}

/** An outbreak's size in cases: `multiple` × the site's mean weekly count (at least one case). */
export const outbreakCases = (site: SimulatedSite, multiple: number) => Math.max(1, Math.round(multiple * 7 * site.mean));
