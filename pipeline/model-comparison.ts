/**
 * Two models of one label on the same live studies: how they agree with each other (Cohen's
 * kappa), each one's agreement with the radiologists, week by week, where they disagree, and
 * the promotion checklist — the figures a model team weighs before it changes a card. The
 * decision stays human: nothing here changes a deployment.
 */
import { wilson, Z95, type Proportion } from '../inference/proportion.ts';
import type { ComparedAnswer, ComparedStudy, ModelComparisonQuery } from '../store/model-comparison.ts';
import { seededRandom } from '../inference/seeded-random.ts';

/**
 * What the checklist asks before a candidate replaces an incumbent. Non-inferiority: the
 * lower 95 % bound of (candidate − incumbent) agreement with readers must not fall below
 * −2 points; the candidate may be at most 1.5× slower at p95 and may decline (not applicable)
 * at most 5 points more often.
 */
export const PROMOTION_CRITERIA = {
  minDecidedCases: 100,
  minReaderPositives: 20,
  nonInferiorityMargin: 0.02,
  maxLatencyP95Ratio: 1.5,
  maxNotApplicableIncrease: 0.05,
} as const;

/** Bootstrap resamples of patients for the CI of the difference; seeded so a page shows the same interval twice. */
export const BOOTSTRAP = { resamples: 2000, seed: 20261203 } as const;

export interface ModelSummary {
  studies: number;
  /** Studies on which it ran in shadow (never shown to clinicians). */
  shadowStudies: number;
  notApplicable: number;
  outOfDistribution: number;
  /** Processing time per instance (ms, stages without the queue wait), nearest-rank percentiles. */
  latencyMs: { p50: number; p95: number } | null;
  /** Agreement with readers on the studies it answered and a reader decided. */
  readerAgreement: Proportion | null;
}

export interface Kappa { value: number; ci95: [number, number] }

export interface Comparison {
  studies: number;
  /** Studies both answered. */
  bothAnswered: number;
  bothPositive: number;
  bothNegative: number;
  onlyAPositive: number;
  onlyBPositive: number;
  /** Cohen's kappa with the large-sample 95 % interval (Cohen 1960); null when chance agreement is total. */
  kappa: Kappa | null;
  a: ModelSummary;
  b: ModelSummary;
  /** Studies both answered and disagreed on, newest first. */
  disagreements: { studyInstanceUid: string; aPositive: boolean; bPositive: boolean; readerSaysPositive: boolean | null; decidedAt: string | null }[];
  /** Per UTC week (Monday) of the reader's decision: each model's agreement with readers. */
  byWeek: { week: string; decided: number; aAgreed: number; bAgreed: number }[];
}

export interface CheckItem { id: 'decided-cases' | 'reader-agreement' | 'latency' | 'not-applicable'; pass: boolean }

export interface Promotion {
  /** Studies both answered and a reader decided. */
  decidedCases: number;
  readerPositives: number;
  candidateAgreement: Proportion | null;
  incumbentAgreement: Proportion | null;
  /** Candidate − incumbent agreement with readers, paired, CI by bootstrap over patients. */
  difference: { value: number; ci95: [number, number] } | null;
  checks: CheckItem[];
}

/** Studies one comparison reads at most (a year of a busy department's chest films); more: narrow the window. */
export const MAX_COMPARED_STUDIES = 200_000;

/** The studies both models read, summarised; `a` and `b` as in the query. `tooMany`: over MAX_COMPARED_STUDIES, nothing summarised. */
export async function compareModels(store: { modelComparisonStudies(q: ModelComparisonQuery): Promise<ComparedStudy[]> }, query: Omit<ModelComparisonQuery, 'limit'>, max = MAX_COMPARED_STUDIES) {
  const studies = await store.modelComparisonStudies({ ...query, limit: max + 1 });
  if (studies.length > max) return { tooMany: true as const };
  return { tooMany: false as const, studies, comparison: summarise(studies) };
}

export function summarise(studies: ComparedStudy[]): Comparison {
  const both = studies.filter((s) => s.a.applicable && s.b.applicable);
  const count = (f: (s: ComparedStudy) => boolean) => both.filter(f).length;
  const bothPositive = count((s) => s.a.positive && s.b.positive);
  const bothNegative = count((s) => !s.a.positive && !s.b.positive);
  const onlyAPositive = count((s) => s.a.positive && !s.b.positive);
  const onlyBPositive = count((s) => !s.a.positive && s.b.positive);
  const weeks = new Map<string, { week: string; decided: number; aAgreed: number; bAgreed: number }>();
  for (const s of both) {
    if (s.readerSaysPositive === null || s.decidedAt === null) continue;
    const week = mondayOf(s.decidedAt);
    const w = weeks.get(week) ?? { week, decided: 0, aAgreed: 0, bAgreed: 0 };
    w.decided++;
    if (s.a.positive === s.readerSaysPositive) w.aAgreed++;
    if (s.b.positive === s.readerSaysPositive) w.bAgreed++;
    weeks.set(week, w);
  }
  return {
    studies: studies.length,
    bothAnswered: both.length,
    bothPositive, bothNegative, onlyAPositive, onlyBPositive,
    kappa: cohensKappa(bothPositive, onlyAPositive, onlyBPositive, bothNegative),
    a: modelSummary(studies, (s) => s.a),
    b: modelSummary(studies, (s) => s.b),
    disagreements: both.filter((s) => s.a.positive !== s.b.positive).reverse().map((s) => ({
      studyInstanceUid: s.studyInstanceUid, aPositive: s.a.positive, bPositive: s.b.positive, readerSaysPositive: s.readerSaysPositive, decidedAt: s.decidedAt,
    })),
    byWeek: [...weeks.values()].sort((x, y) => x.week.localeCompare(y.week)),
  };
}

/** The checklist for `candidate` (side b of the comparison) replacing `incumbent` (side a). */
export function promotion(studies: ComparedStudy[], comparison: Comparison): Promotion {
  const decided = studies.filter((s) => s.a.applicable && s.b.applicable && s.readerSaysPositive !== null);
  const agree = (answer: ComparedAnswer, s: ComparedStudy) => (answer.positive === s.readerSaysPositive ? 1 : 0);
  const k = (side: 'a' | 'b') => decided.reduce((n, s) => n + agree(s[side], s), 0);
  const readerPositives = decided.filter((s) => s.readerSaysPositive).length;
  const difference = decided.length ? { value: (k('b') - k('a')) / decided.length, ci95: bootstrapDifference(decided, agree) } : null;
  const { a: incumbent, b: candidate } = comparison;
  const naRate = (m: ModelSummary) => (comparison.studies ? m.notApplicable / comparison.studies : 0);
  const c = PROMOTION_CRITERIA;
  return {
    decidedCases: decided.length,
    readerPositives,
    candidateAgreement: decided.length ? wilson(k('b'), decided.length) : null,
    incumbentAgreement: decided.length ? wilson(k('a'), decided.length) : null,
    difference,
    checks: [
      { id: 'decided-cases', pass: decided.length >= c.minDecidedCases && readerPositives >= c.minReaderPositives },
      { id: 'reader-agreement', pass: difference !== null && difference.ci95[0] >= -c.nonInferiorityMargin },
      { id: 'latency', pass: candidate.latencyMs !== null && incumbent.latencyMs !== null && candidate.latencyMs.p95 <= c.maxLatencyP95Ratio * incumbent.latencyMs.p95 },
      { id: 'not-applicable', pass: comparison.studies > 0 && naRate(candidate) - naRate(incumbent) <= c.maxNotApplicableIncrease },
    ],
  };
}

function modelSummary(studies: ComparedStudy[], side: (s: ComparedStudy) => ComparedAnswer): ModelSummary {
  const times = studies.flatMap((s) => side(s).processingMs).sort((x, y) => x - y);
  const decided = studies.filter((s) => side(s).applicable && s.readerSaysPositive !== null);
  const agreed = decided.filter((s) => side(s).positive === s.readerSaysPositive).length;
  return {
    studies: studies.length,
    shadowStudies: studies.filter((s) => side(s).shadow).length,
    notApplicable: studies.filter((s) => !side(s).applicable).length,
    outOfDistribution: studies.filter((s) => side(s).notApplicableCode === 'OUT_OF_DISTRIBUTION').length,
    latencyMs: times.length ? { p50: nearestRank(times, 0.5), p95: nearestRank(times, 0.95) } : null,
    readerAgreement: decided.length ? wilson(agreed, decided.length) : null,
  };
}

/** Cohen's kappa of a 2×2 table, with SE = √(po(1−po)) / ((1−pe)√n). */
export function cohensKappa(bothPositive: number, onlyA: number, onlyB: number, bothNegative: number): Kappa | null {
  const n = bothPositive + onlyA + onlyB + bothNegative;
  if (n === 0) return null;
  const po = (bothPositive + bothNegative) / n;
  const pA = (bothPositive + onlyA) / n;
  const pB = (bothPositive + onlyB) / n;
  const pe = pA * pB + (1 - pA) * (1 - pB);
  if (pe === 1) return null;
  const value = (po - pe) / (1 - pe);
  const se = Math.sqrt(po * (1 - po)) / ((1 - pe) * Math.sqrt(n));
  return { value, ci95: [Math.max(-1, value - Z95 * se), Math.min(1, value + Z95 * se)] };
}

/**
 * Percentile 95 % interval of the paired difference in agreement, resampling patients (with
 * all their studies) so a patient filmed often does not narrow the interval falsely.
 */
function bootstrapDifference(decided: ComparedStudy[], agree: (answer: ComparedAnswer, s: ComparedStudy) => number): [number, number] {
  const byPatient = new Map<string, { diff: number; n: number }>();
  for (const s of decided) {
    const p = byPatient.get(s.patientKey) ?? { diff: 0, n: 0 };
    p.diff += agree(s.b, s) - agree(s.a, s);
    p.n++;
    byPatient.set(s.patientKey, p);
  }
  const patients = [...byPatient.values()];
  const random = seededRandom(BOOTSTRAP.seed);
  const draws: number[] = [];
  for (let r = 0; r < BOOTSTRAP.resamples; r++) {
    let diff = 0;
    let n = 0;
    for (let i = 0; i < patients.length; i++) {
      const p = patients[Math.floor(random() * patients.length)];
      diff += p.diff;
      n += p.n;
    }
    draws.push(diff / n);
  }
  draws.sort((x, y) => x - y);
  return [nearestRank(draws, 0.025), nearestRank(draws, 0.975)];
}

const nearestRank = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];

/** The Monday (UTC) of the week an instant falls in, as YYYY-MM-DD. */
function mondayOf(iso: string): string {
  const day = new Date(iso.slice(0, 10) + 'T00:00:00Z');
  day.setUTCDate(day.getUTCDate() - ((day.getUTCDay() + 6) % 7));
  return day.toISOString().slice(0, 10);
}
