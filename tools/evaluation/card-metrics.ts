/**
 * The card's metrics: every metric the harness can name from probabilities and labels,
 * and each card claim against its recomputed value within a tolerance (drift.test.ts
 * holds every model to these; docs/models.md, "Evaluation", lists the names).
 */
import type { ModelCard } from '../../inference/model-card.ts';
import { atThreshold, auroc, brier, ece, logisticCalibration, reliability, rocCurve, type ThresholdMetrics } from './metrics.ts';

/**
 * How far a recomputed metric may sit from the card before the drift test fails. The
 * card rounds to 4 decimals and onnxruntime builds may differ in the last float bits;
 * anything beyond these is a changed model, dataset or pipeline, not noise.
 */
export const TOLERANCES: readonly { pattern: RegExp; tolerance: number; why: string }[] = [
  { pattern: /^AUROC( \(per patient\))?$/, tolerance: 0.005, why: 'ranking; a handful of swapped pairs' },
  { pattern: /^(accuracy|sensitivity|specificity)@[^ ]+( \(per patient\))?$/, tolerance: 0.01, why: 'one or two cases crossing the threshold on a few hundred' },
  { pattern: /^ECE( \(per patient\))?$/, tolerance: 0.01, why: 'binned, jumps when a case changes bin' },
  { pattern: /^Brier( \(per patient\))?$/, tolerance: 0.005, why: 'mean squared error of probabilities' },
  { pattern: /^calibration (slope|intercept)$/, tolerance: 0.05, why: 'logistic fit, sensitive to the extreme probabilities' },
];

/** Suffix of a metric computed on patients (PATIENT_RULE) rather than images. */
export const PER_PATIENT = ' (per patient)';

export const toleranceFor = (name: string) => TOLERANCES.find((t) => t.pattern.test(name));

export interface NamedMetric {
  name: string;
  value: number;
  ci95?: [number, number];
  /** Per-image metrics when patients are known: percentile CI from a bootstrap over patients. */
  ci95PatientClustered?: [number, number];
  /** The threshold of an `accuracy|sensitivity|specificity@…` metric. */
  threshold?: number;
  n: number;
  method: string;
}

/** A named point on the ROC plot (an operating point, a band boundary). */
export interface Marker { name: string; threshold: number; fpr: number; tpr: number }

export interface Comparison {
  name: string;
  card: number;
  cardN?: number;
  recomputed?: number;
  recomputedN?: number;
  difference?: number;
  tolerance?: number;
  status: 'ok' | 'drift' | 'not-recomputed' | 'n-differs';
}

/**
 * Every metric the harness can name, from probabilities and labels: AUROC (DeLong),
 * accuracy/sensitivity/specificity at 0.5, at each operating point of the label
 * (`@operating-point` for the first, `@<name>` for each), at each band boundary of a risk
 * model and at any `@<number>` the card's metrics mention; ECE, Brier, calibration slope
 * and intercept.
 */
export function computeMetrics(card: ModelCard, probabilities: Float64Array, labels: Uint8Array, label?: string) {
  const named = namedMetrics(card, probabilities, labels, label);
  const n = labels.length;
  const logistic = logisticCalibration(probabilities, labels);
  named.metrics.push(
    { name: 'calibration slope', value: logistic.slope.value, ci95: logistic.slope.ci95, n, method: 'logistic regression of outcome on logit(p); Wald 95% CI' },
    { name: 'calibration intercept', value: logistic.intercept.value, ci95: logistic.intercept.ci95, n, method: 'calibration-in-the-large: intercept with logit(p) as offset; Wald 95% CI' },
  );
  let sum = 0;
  let pos = 0;
  for (let i = 0; i < n; i++) { sum += probabilities[i]; pos += labels[i]; }
  const ece = named.metrics.find((m) => m.name === 'ECE')!.value;
  const brier = named.metrics.find((m) => m.name === 'Brier')!.value;
  return {
    ...named,
    calibration: { ece, brier, logistic, reliability: reliability(probabilities, labels), meanProbability: sum / n, prevalence: pos / n },
  };
}

/**
 * The metrics of computeMetrics without the logistic calibration fit: what is also computed
 * per patient, where a score is the max of a patient's probabilities, not a probability of
 * the patient (ECE and Brier of that max are reported for a card that claims them, nothing more).
 */
export function namedMetrics(card: ModelCard, probabilities: Float64Array, labels: Uint8Array, label?: string) {
  const a = auroc(probabilities, labels);
  const n = labels.length;
  const metrics: NamedMetric[] = [{ name: 'AUROC', value: a.value, ci95: a.ci95, n, method: 'Mann-Whitney AUROC; 95% CI from DeLong 1988 variance' }];
  const thresholds: ThresholdMetrics[] = [];
  const markers: Marker[] = [];
  const addThreshold = (suffix: string, t: number, why: string, marker?: string) => {
    const m = atThreshold(probabilities, labels, t);
    thresholds.push(m);
    for (const key of ['accuracy', 'sensitivity', 'specificity'] as const) {
      const p = m[key];
      metrics.push({ name: `${key}@${suffix}`, value: p.value, ci95: p.ci95, n: p.n, threshold: t, method: `${why}; positive if p >= ${round(t, 4)}; Wilson score 95% interval` });
    }
    if (marker) markers.push({ name: marker, threshold: t, fpr: 1 - m.specificity.value, tpr: m.sensitivity.value });
  };
  const numeric = new Set<number>([0.5]);
  if (card.task === 'risk') for (const b of card.bands) if (b.below !== undefined) numeric.add(b.below);
  for (const m of card.metrics) {
    const at = /@(\d*\.?\d+)( \(per patient\))?$/.exec(m.name);
    if (at) numeric.add(Number(at[1]));
  }
  for (const t of [...numeric].sort((x, y) => x - y)) {
    const band = card.task === 'risk' ? card.bands.find((b) => b.below === t) : undefined;
    addThreshold(String(t), t, band ? `boundary of band ${band.label}` : 'fixed threshold', card.task === 'risk' && band ? `risk >= ${round(t * 100, 1)}%` : undefined);
  }
  if (card.task === 'read-assist') {
    const points = card.operatingPoints.filter((p) => p.label === (label ?? card.labels[0].id));
    points.forEach((p, i) => {
      if (i === 0) addThreshold('operating-point', p.threshold, `operating point ${p.name} (${p.rule})`, `${p.name} (t=${round(p.threshold, 3)})`);
      addThreshold(p.name, p.threshold, `operating point ${p.name}`);
    });
  }
  metrics.push(
    { name: 'ECE', value: ece(probabilities, labels), n, method: '10 equal-width bins, |mean probability - observed| weighted by bin size' },
    { name: 'Brier', value: brier(probabilities, labels), n, method: 'mean squared error of the probability' },
  );
  return { metrics, auroc: a, thresholds, markers, roc: rocCurve(probabilities, labels) };
}

/**
 * Each card metric on `split` against its recomputed value, and each per-patient claim
 * (name ending " (per patient)", split mentioning "per patient" and starting like `split`,
 * e.g. "test (patient-disjoint, per patient, n=101 patients)") against the per-patient
 * metric. A card metric the harness cannot name is reported as `not-recomputed` (an
 * unchecked claim), a different `n` (or, for per-patient splits, a different "n=<P>
 * patients") as `n-differs` (a different dataset), a difference beyond the tolerance as `drift`.
 */
export function compareWithCard(card: ModelCard, split: string, recomputed: NamedMetric[], patients?: number): Comparison[] {
  const stem = split.split('(')[0].trim();
  const perPatientClaim = (m: { name: string; split: string }) => m.name.endsWith(PER_PATIENT) && /per patient/.test(m.split) && m.split.startsWith(stem);
  const claims = (card.metrics ?? []).filter((m) => m.split === split || perPatientClaim(m));
  return claims.map((claim) => {
    const mine = recomputed.find((m) => m.name === claim.name);
    const tol = toleranceFor(claim.name);
    if (!mine || !tol) return { name: claim.name, card: claim.value, cardN: claim.n, status: 'not-recomputed' };
    const difference = mine.value - claim.value;
    const base = { name: claim.name, card: claim.value, cardN: claim.n, recomputed: mine.value, recomputedN: mine.n, difference, tolerance: tol.tolerance };
    if (claim.n !== undefined && claim.n !== mine.n) return { ...base, status: 'n-differs' };
    const claimedPatients = /n\s*=\s*(\d+)\s*patients/.exec(claim.split);
    if (perPatientClaim(claim) && claimedPatients && Number(claimedPatients[1]) !== patients) return { ...base, status: 'n-differs' };
    return { ...base, status: Math.abs(difference) <= tol.tolerance ? 'ok' : 'drift' };
  });
}

export const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
