/**
 * Classification and calibration metrics for binary outcomes, shared by the evaluation
 * harness (`npm run eval`), the drift test and the model tests: one implementation of
 * each, checked against scikit-learn / published values in metrics.test.ts. Per patient
 * and patient-clustered intervals are in patients.ts.
 *
 * Conventions: `scores` are probabilities or any score where higher means "more likely
 * positive"; `labels` are 0/1; a case is called positive when `score >= threshold`.
 */

export type Labels = ArrayLike<number>;
export type Scores = ArrayLike<number>;

export { wilson, Z95, type Proportion } from '../../inference/proportion.ts';
import { wilson, Z95, type Proportion } from '../../inference/proportion.ts';

function counts(labels: Labels): { nPos: number; nNeg: number } {
  let nPos = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) throw new RangeError(`label ${i} is ${labels[i]}; labels must be 0 or 1`);
    nPos += labels[i];
  }
  return { nPos, nNeg: labels.length - nPos };
}

/** 1-based mid-ranks (ties share the mean of their ranks). */
function midRanks(values: ArrayLike<number>): Float64Array {
  const idx = Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const rank = new Float64Array(values.length);
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && values[idx[j + 1]] === values[idx[i]]) j++;
    for (let k = i; k <= j; k++) rank[idx[k]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return rank;
}

export interface Auroc {
  value: number;
  /** DeLong (1988) standard error. */
  se: number;
  /** value ± 1.96·se, clipped to [0, 1]. */
  ci95: [number, number];
  nPos: number;
  nNeg: number;
}

/**
 * AUROC as the Mann-Whitney statistic (ties count one half) with the DeLong et al. 1988
 * variance, computed from mid-ranks in O(n log n) (Sun & Xu 2014). Same numbers as
 * sklearn's roc_auc_score and pROC's `ci.auc(method = "delong")`.
 */
export function auroc(scores: Scores, labels: Labels): Auroc {
  if (scores.length !== labels.length) throw new RangeError(`${scores.length} scores but ${labels.length} labels`);
  const { nPos, nNeg } = counts(labels);
  if (nPos < 2 || nNeg < 2) throw new RangeError(`AUROC needs at least 2 positives and 2 negatives (got ${nPos} / ${nNeg})`);
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < labels.length; i++) (labels[i] === 1 ? pos : neg).push(scores[i]);
  const all = midRanks(scores);
  const rPos = midRanks(pos);
  const rNeg = midRanks(neg);
  // Structural components: v10[i] = P(neg < pos_i) + ½P(tie); v01[j] = P(pos > neg_j) + ½P(tie).
  const v10 = new Float64Array(nPos);
  const v01 = new Float64Array(nNeg);
  let p = 0;
  let q = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === 1) { v10[p] = (all[i] - rPos[p]) / nNeg; p++; } else { v01[q] = 1 - (all[i] - rNeg[q]) / nPos; q++; }
  }
  const value = mean(v10);
  const se = Math.sqrt(variance(v10) / nPos + variance(v01) / nNeg);
  return { value, se, ci95: [Math.max(0, value - Z95 * se), Math.min(1, value + Z95 * se)], nPos, nNeg };
}

function mean(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s / x.length;
}

function variance(x: ArrayLike<number>): number {
  const m = mean(x);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] - m) ** 2;
  return s / (x.length - 1);
}

export interface Confusion { tp: number; fn: number; tn: number; fp: number }

export function confusion(scores: Scores, labels: Labels, threshold: number): Confusion {
  const c = { tp: 0, fn: 0, tn: 0, fp: 0 };
  for (let i = 0; i < labels.length; i++) {
    const positive = scores[i] >= threshold;
    if (labels[i] === 1) positive ? c.tp++ : c.fn++;
    else positive ? c.fp++ : c.tn++;
  }
  return c;
}

export interface ThresholdMetrics {
  threshold: number;
  confusion: Confusion;
  accuracy: Proportion;
  sensitivity: Proportion;
  specificity: Proportion;
}

/** Accuracy, sensitivity and specificity at `score >= threshold`, each with a Wilson interval. */
export function atThreshold(scores: Scores, labels: Labels, threshold: number): ThresholdMetrics {
  const c = confusion(scores, labels, threshold);
  return {
    threshold,
    confusion: c,
    accuracy: wilson(c.tp + c.tn, labels.length),
    sensitivity: wilson(c.tp, c.tp + c.fn),
    specificity: wilson(c.tn, c.tn + c.fp),
  };
}

export interface ReferBandEffect {
  referred: number;
  referredFraction: number;
  /** Cases outside the band, which get a hint. */
  outside: number;
  /** Accuracy of those hints; null when every case is referred. */
  accuracyOutside: number | null;
}

/**
 * What a refer band [low, high) does (docs/models.md `referBands`): the fraction of cases
 * referred, and the accuracy of the hints outside it (p < low read as negative, p >= high
 * as positive). Same definition as `band_effect` in models/tools/evaluation_stats.py, which
 * computed the cards' `referBandEffect`.
 */
export function referBandEffect(scores: Scores, labels: Labels, low: number, high: number): ReferBandEffect {
  let referred = 0, correct = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = scores[i];
    if (p >= low && p < high) referred++;
    else if ((p >= high) === (labels[i] === 1)) correct++;
  }
  const outside = labels.length - referred;
  return { referred, referredFraction: referred / labels.length, outside, accuracyOutside: outside ? correct / outside : null };
}

/** Brier score: mean squared difference between probability and outcome. */
export function brier(probabilities: Scores, labels: Labels): number {
  let s = 0;
  for (let i = 0; i < labels.length; i++) s += (probabilities[i] - labels[i]) ** 2;
  return s / labels.length;
}

export interface ReliabilityBin {
  /** [lower, upper) except the last bin, which includes 1. */
  bin: [number, number];
  n: number;
  events: number;
  meanProbability: number;
  observed: number;
  observedCi95: [number, number];
}

/** Equal-width bins over [0, 1]; empty bins are left out. */
export function reliability(probabilities: Scores, labels: Labels, bins = 10): ReliabilityBin[] {
  const n = new Float64Array(bins);
  const events = new Float64Array(bins);
  const sum = new Float64Array(bins);
  for (let i = 0; i < labels.length; i++) {
    const b = Math.min(Math.max(Math.floor(probabilities[i] * bins), 0), bins - 1);
    n[b]++;
    events[b] += labels[i];
    sum[b] += probabilities[i];
  }
  const out: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b++) {
    if (n[b] === 0) continue;
    out.push({ bin: [b / bins, (b + 1) / bins], n: n[b], events: events[b], meanProbability: sum[b] / n[b], observed: events[b] / n[b], observedCi95: wilson(events[b], n[b]).ci95 });
  }
  return out;
}

/** Expected calibration error: Σ (n_b / N)·|mean probability_b − observed_b| over equal-width bins (10 by default). */
export function ece(probabilities: Scores, labels: Labels, bins = 10): number {
  return reliability(probabilities, labels, bins).reduce((s, b) => s + (b.n / labels.length) * Math.abs(b.meanProbability - b.observed), 0);
}

export interface Estimate { value: number; ci95: [number, number]; se: number }

export interface LogisticCalibration {
  /** Slope of `logit P(y) = a + b·logit(p)`: 1 is ideal, < 1 means predictions too extreme. */
  slope: Estimate;
  /** Calibration-in-the-large: `a` in `logit P(y) = a + logit(p)` (slope fixed at 1); 0 is ideal, > 0 means risk under-estimated. */
  intercept: Estimate;
  /** The intercept of the slope fit (`a` in `a + b·logit(p)`), to draw the fitted curve. */
  slopeFitIntercept: number;
}

/**
 * Logistic calibration (Cox 1958; Steyerberg's "calibration slope" and
 * "calibration-in-the-large"), fitted by Newton-Raphson with Wald 95% intervals.
 * Probabilities are clipped to [1e-12, 1 − 1e-12] before the logit.
 */
export function logisticCalibration(probabilities: Scores, labels: Labels): LogisticCalibration {
  const lp = Float64Array.from({ length: labels.length }, (_, i) => {
    const p = Math.min(Math.max(probabilities[i], 1e-12), 1 - 1e-12);
    return Math.log(p / (1 - p));
  });
  const y = Float64Array.from({ length: labels.length }, (_, i) => labels[i]);
  const slopeFit = newton(y, lp, false);
  const offsetFit = newton(y, lp, true);
  return {
    slope: estimate(slopeFit.beta[1], Math.sqrt(slopeFit.cov[3])),
    intercept: estimate(offsetFit.beta[0], Math.sqrt(offsetFit.cov[0])),
    slopeFitIntercept: slopeFit.beta[0],
  };
}

const estimate = (value: number, se: number): Estimate => ({ value, se, ci95: [value - Z95 * se, value + Z95 * se] });

/**
 * Unpenalised logistic regression of y on [1, x] (or on 1 with x as an offset), by
 * Newton-Raphson. Returns the estimates and the inverse Fisher information (row-major).
 */
function newton(y: Float64Array, x: Float64Array, offset: boolean): { beta: number[]; cov: number[] } {
  const k = offset ? 1 : 2;
  const beta = [0, offset ? 1 : 0];
  let info: number[] = [];
  for (let iter = 0; iter < 100; iter++) {
    let g0 = 0; let g1 = 0; let h00 = 0; let h01 = 0; let h11 = 0;
    for (let i = 0; i < y.length; i++) {
      const eta = beta[0] + (offset ? x[i] : beta[1] * x[i]);
      const p = 1 / (1 + Math.exp(-eta));
      const w = p * (1 - p);
      g0 += y[i] - p; h00 += w;
      if (!offset) { g1 += (y[i] - p) * x[i]; h01 += w * x[i]; h11 += w * x[i] * x[i]; }
    }
    let step0: number; let step1 = 0;
    if (k === 1) {
      step0 = g0 / h00;
      info = [1 / h00];
    } else {
      const det = h00 * h11 - h01 * h01;
      step0 = (h11 * g0 - h01 * g1) / det;
      step1 = (h00 * g1 - h01 * g0) / det;
      info = [h11 / det, -h01 / det, -h01 / det, h00 / det];
    }
    beta[0] += step0;
    if (!offset) beta[1] += step1;
    if (!Number.isFinite(beta[0]) || !Number.isFinite(beta[1])) throw new RangeError('logistic calibration did not converge (separable data?)');
    if (Math.max(Math.abs(step0), Math.abs(step1)) < 1e-12) break;
  }
  return { beta, cov: info };
}

export interface RocPoint { threshold: number; fpr: number; tpr: number }

/** The empirical ROC curve: one point per distinct score (highest first), starting at (0, 0). */
export function rocCurve(scores: Scores, labels: Labels): RocPoint[] {
  const { nPos, nNeg } = counts(labels);
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const points: RocPoint[] = [{ threshold: Infinity, fpr: 0, tpr: 0 }];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < idx.length; i++) {
    labels[idx[i]] === 1 ? tp++ : fp++;
    if (i + 1 < idx.length && scores[idx[i + 1]] === scores[idx[i]]) continue;
    points.push({ threshold: scores[idx[i]], fpr: fp / nNeg, tpr: tp / nPos });
  }
  return points;
}
