/**
 * Images → patients, and intervals that respect patients: images of one patient are
 * correlated, so metrics per patient (PATIENT_RULE) and a bootstrap that resamples whole
 * patients sit beside the per-image metrics of metrics.ts (tested with them, metrics.test.ts).
 */
import type { Labels, Scores } from './metrics.ts';
import { seededRandom } from '../../inference/seeded-random.ts';

/**
 * Mann-Whitney AUROC of the cases at `indices` (repeats allowed, as a bootstrap draws
 * them), without the DeLong variance: the statistic resampled by clusterBootstrap.
 * NaN when the cases hold fewer than one positive or one negative.
 */
export function aurocValue(scores: Scores, labels: Labels, indices?: ArrayLike<number>): number {
  const idx = indices ? Array.from(indices) : Array.from({ length: labels.length }, (_, i) => i);
  idx.sort((a, b) => scores[a] - scores[b]);
  let nPos = 0;
  let rankSum = 0;
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]] === scores[idx[i]]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (labels[idx[k]] === 1) { nPos++; rankSum += rank; }
    i = j + 1;
  }
  const nNeg = idx.length - nPos;
  if (nPos === 0 || nNeg === 0) return Number.NaN;
  return (rankSum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/** Quantile by linear interpolation between order statistics (numpy's default, Hyndman-Fan type 7). */
function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

export interface BootstrapInterval {
  value: number;
  /** Percentile 95% interval of the resampled statistic; NaN when no resample defined it. */
  ci95: [number, number];
  /** Resamples in which the statistic was defined (e.g. both classes drawn, for AUROC). */
  resamples: number;
}

export interface ClusterBootstrap {
  /** One interval per component of the statistic. */
  intervals: BootstrapInterval[];
  clusters: number;
  draws: number;
  seed: number;
  /** Every resample's statistic, [component][draw]; only with `keepSamples`. */
  samples?: Float64Array[];
}

export interface ClusterBootstrapOptions {
  /** Number of resamples (default 2000). */
  resamples?: number;
  /** Seed of seededRandom (default 20240601). */
  seed?: number;
  /** Return every resample's statistic (for tests and plots). */
  keepSamples?: boolean;
}

/**
 * Percentile bootstrap that resamples whole clusters (patients) with replacement, never
 * single cases: images of one patient are correlated, so an interval that resamples
 * images as if independent is too narrow (Field & Welsh 2007; Obuchowski 1997 for AUROC).
 * `statistic` gets the indices of one resample (a cluster drawn twice appears twice) and
 * returns one or more values; NaN marks a resample where a value is undefined, which is
 * left out of that value's interval (its `resamples` count says how many remained).
 */
export function clusterBootstrap(clusters: ArrayLike<string>, statistic: (indices: Int32Array) => ArrayLike<number>, options: ClusterBootstrapOptions = {}): ClusterBootstrap {
  const draws = options.resamples ?? 2000;
  const seed = options.seed ?? 20240601;
  const members = new Map<string, number[]>();
  for (let i = 0; i < clusters.length; i++) {
    const list = members.get(clusters[i]);
    if (list) list.push(i); else members.set(clusters[i], [i]);
  }
  const groups = [...members.values()];
  const k = groups.length;
  if (k < 2) throw new RangeError(`a cluster bootstrap needs at least 2 clusters (got ${k})`);
  const observed = Array.from(statistic(Int32Array.from({ length: clusters.length }, (_, i) => i)));
  const values = observed.map(() => new Float64Array(draws));
  const random = seededRandom(seed);
  const picked = new Int32Array(k);
  for (let d = 0; d < draws; d++) {
    let size = 0;
    for (let j = 0; j < k; j++) { picked[j] = Math.floor(random() * k); size += groups[picked[j]].length; }
    const indices = new Int32Array(size);
    let at = 0;
    for (let j = 0; j < k; j++) for (const i of groups[picked[j]]) indices[at++] = i;
    const stat = statistic(indices);
    for (let c = 0; c < observed.length; c++) values[c][d] = stat[c];
  }
  const intervals = observed.map((value, c) => {
    const defined = values[c].filter((v) => !Number.isNaN(v)).sort();
    const ci95: [number, number] = defined.length > 0 ? [quantileSorted(defined, 0.025), quantileSorted(defined, 0.975)] : [Number.NaN, Number.NaN];
    return { value, ci95, resamples: defined.length };
  });
  return { intervals, clusters: k, draws, seed, ...(options.keepSamples ? { samples: values } : {}) };
}

export interface PatientLevel {
  patients: string[];
  /** A patient's score: the highest of their images' scores. */
  scores: Float64Array;
  /** 1 if any of the patient's images is positive. */
  labels: Uint8Array;
  /** Images per patient. */
  images: Int32Array;
}

/** The per-patient rule, in words, for reports. */
export const PATIENT_RULE = 'a patient\'s score is the highest probability among their images; a patient is positive if any of their images is labelled positive';

/**
 * Images → patients (PATIENT_RULE), patients in order of first appearance. The max is what
 * a reader of a worklist sees: a patient is flagged if any film is.
 */
export function patientLevel(scores: Scores, labels: Labels, patients: ArrayLike<string>): PatientLevel {
  if (scores.length !== labels.length || labels.length !== patients.length) throw new RangeError(`${scores.length} scores, ${labels.length} labels, ${patients.length} patients`);
  const at = new Map<string, number>();
  const order: string[] = [];
  const score: number[] = [];
  const label: number[] = [];
  const images: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    let j = at.get(patients[i]);
    if (j === undefined) {
      j = order.length;
      at.set(patients[i], j);
      order.push(patients[i]);
      score.push(-Infinity);
      label.push(0);
      images.push(0);
    }
    score[j] = Math.max(score[j], scores[i]);
    label[j] = Math.max(label[j], labels[i]);
    images[j]++;
  }
  return { patients: order, scores: Float64Array.from(score), labels: Uint8Array.from(label), images: Int32Array.from(images) };
}
