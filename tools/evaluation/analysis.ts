/**
 * Everything a model team reads beside a card's AUROC, from one model's per-image
 * probabilities, computed the same way for `npm run eval` and `npm run bench:model`:
 *
 *   per image (all images with a probability; CIs clustered by patient when patients are known)
 *   → per patient (PATIENT_RULE)
 *   → applicability (refer-band share, not-applicable share and list, metrics on the applicable images)
 *   → breakdowns and metadata-only baselines by every extra CSV column (subgroups.ts)
 *   → a plain-language verdict derived from those numbers (analysis-text.ts, with the
 *     markdown sections both reports print).
 */
import { verdict } from './analysis-text.ts';
import { atThreshold, auroc, rocCurve, type Auroc, type RocPoint, type ThresholdMetrics } from './metrics.ts';
import { PATIENT_RULE, aurocValue, clusterBootstrap, patientLevel, type BootstrapInterval, type ClusterBootstrapOptions } from './patients.ts';
import { atThresholdSafe, breakdown, chooseColumns, metadataBaseline, type AtThreshold, type Baseline, type Breakdown, type Column, type SkippedColumn } from './subgroups.ts';

/** Why one image is not applicable: a code and the reason in English and Chinese, as a served finding gives it. */
export interface NotApplicableReason { code: string; text: string; textZh?: string }

export interface AnalysisInput {
  /** The card label being scored, e.g. "pneumonia". */
  label: string;
  ids: readonly string[];
  /** null: the model gave no probability (not applicable before it ran, e.g. the DICOM population gate). */
  probabilities: ArrayLike<number | null>;
  labels: ArrayLike<number>;
  /** Per image: why it is not applicable, or undefined. */
  notApplicable: readonly (NotApplicableReason | undefined)[];
  /** How applicability was checked, in words; undefined when it was not. */
  applicabilityCheck?: string;
  operatingPoint: { name: string; threshold: number };
  /** The card's refer band for the label: p in [low, high) is referred, not hinted. */
  referBand?: { low: number; high: number };
  patients?: { column: string; ids: readonly string[] };
  /** Extra CSV columns, one cell per image. */
  columns?: Record<string, Column>;
  /** Only these columns (`--by`). */
  by?: readonly string[];
  /** The AUROC the team aims for; the verdict holds the lower CI bound against it. */
  aim?: number;
  /** Further thresholds whose patient-clustered CIs are wanted (the operating point is always included). */
  thresholds?: readonly number[];
  bootstrap?: ClusterBootstrapOptions;
}

export interface ClusteredThreshold { threshold: number; accuracy: BootstrapInterval; sensitivity: BootstrapInterval; specificity: BootstrapInterval }

export interface Clustered {
  method: string;
  clusters: number;
  resamples: number;
  seed: number;
  auroc: BootstrapInterval;
  thresholds: ClusteredThreshold[];
}

export interface Analysis {
  label: string;
  /** Every image, applicable or not. */
  n: number;
  perImage: {
    /** Images with a probability: the denominator of every per-image metric. */
    n: number;
    positives: number;
    auroc: Auroc;
    atOperatingPoint: ThresholdMetrics;
    /** Patient-clustered bootstrap CIs, when patients are known. */
    clustered?: Clustered;
  };
  perPatient?: {
    column: string;
    rule: string;
    n: number;
    positives: number;
    /** Patients with more than one image. */
    multiImage: number;
    auroc?: Auroc;
    atOperatingPoint: AtThreshold;
    roc?: RocPoint[];
    patients: { patient: string; images: number; label: number; score: number }[];
  };
  applicability: {
    check?: string;
    notApplicable: { id: string; code: string; text: string; textZh?: string }[];
    /** Share of all images. */
    notApplicableShare: number;
    referBand?: { low: number; high: number };
    /** Applicable images whose probability is in the refer band (as served: not-applicable images get no answer). */
    referred: number;
    /** Share of all images. */
    referredShare: number;
    /** Share of all images with a probability in the band, applicable or not: the card's `referBandEffect.referredFraction`. */
    referredShareIgnoringApplicability?: number;
  };
  /** The applicable images with a probability (absent when no image is not applicable). */
  applicable?: { n: number; positives: number; auroc?: Auroc; atOperatingPoint: AtThreshold };
  breakdowns: Breakdown[];
  skippedColumns: SkippedColumn[];
  baselines: Baseline[];
  verdict: string;
}

export function analyse(input: AnalysisInput): Analysis {
  const n = input.labels.length;
  const scored = indices(n, (i) => input.probabilities[i] !== null);
  const p = scored.map((i) => input.probabilities[i] as number);
  const y = scored.map((i) => input.labels[i]);
  const positives = sum(y);
  const threshold = input.operatingPoint.threshold;

  const patientIds = input.patients ? scored.map((i) => input.patients!.ids[i]) : undefined;
  let clustered: Clustered | undefined;
  if (patientIds && new Set(patientIds).size >= 2) clustered = clusteredCis(p, y, patientIds, [threshold, ...(input.thresholds ?? [])], input.bootstrap);

  let perPatient: Analysis['perPatient'];
  if (input.patients && patientIds) {
    const level = patientLevel(p, y, patientIds);
    const pos = sum(level.labels);
    const both = pos >= 2 && level.labels.length - pos >= 2;
    perPatient = {
      column: input.patients.column,
      rule: PATIENT_RULE,
      n: level.patients.length,
      positives: pos,
      multiImage: level.images.filter((k) => k > 1).length,
      ...(both ? { auroc: auroc(level.scores, level.labels), roc: rocCurve(level.scores, level.labels) } : {}),
      atOperatingPoint: atThresholdSafe(level.scores, level.labels, threshold),
      patients: level.patients.map((patient, j) => ({ patient, images: level.images[j], label: level.labels[j], score: level.scores[j] })),
    };
  }

  const notApplicable = input.ids.flatMap((id, i) => (input.notApplicable[i] ? [{ id, ...input.notApplicable[i]! }] : []));
  const band = input.referBand;
  const inBand = (q: number | null) => band !== undefined && q !== null && q >= band.low && q < band.high;
  const referred = indices(n, (i) => !input.notApplicable[i] && inBand(input.probabilities[i])).length;
  const applicableIdx = scored.filter((i) => !input.notApplicable[i]);
  let applicable: Analysis['applicable'];
  if (notApplicable.length > 0) {
    const ap = applicableIdx.map((i) => input.probabilities[i] as number);
    const ay = applicableIdx.map((i) => input.labels[i]);
    const apos = sum(ay);
    applicable = {
      n: applicableIdx.length,
      positives: apos,
      ...(apos >= 2 && ay.length - apos >= 2 ? { auroc: auroc(ap, ay) } : {}),
      atOperatingPoint: atThresholdSafe(ap, ay, threshold),
    };
  }

  const columns = input.columns ?? {};
  const scoredColumns = Object.fromEntries(Object.entries(columns).map(([c, cells]) => [c, scored.map((i) => cells[i])]));
  const choice = chooseColumns(scoredColumns, input.by);
  const breakdowns = choice.used.map((c) => breakdown(c, scoredColumns[c], p, y, threshold));
  const baselines = choice.used.flatMap((c) => metadataBaseline(c, scoredColumns[c], p, y) ?? []);

  const analysis: Omit<Analysis, 'verdict'> = {
    label: input.label,
    n,
    perImage: { n: scored.length, positives, auroc: auroc(p, y), atOperatingPoint: atThreshold(p, y, threshold), ...(clustered ? { clustered } : {}) },
    ...(perPatient ? { perPatient } : {}),
    applicability: {
      ...(input.applicabilityCheck ? { check: input.applicabilityCheck } : {}),
      notApplicable,
      notApplicableShare: n ? notApplicable.length / n : 0,
      ...(band ? { referBand: band, referredShareIgnoringApplicability: p.filter((q) => inBand(q)).length / (p.length || 1) } : {}),
      referred,
      referredShare: n ? referred / n : 0,
    },
    ...(applicable ? { applicable } : {}),
    breakdowns,
    skippedColumns: choice.skipped,
    baselines,
  };
  return { ...analysis, verdict: verdict(analysis, input.aim) };
}

/**
 * Patient-clustered percentile bootstrap of AUROC and of accuracy, sensitivity and
 * specificity at each threshold, all from the same resamples.
 */
export function clusteredCis(scores: ArrayLike<number>, labels: ArrayLike<number>, patients: ArrayLike<string>, thresholds: readonly number[], options: ClusterBootstrapOptions = {}): Clustered {
  const ts = [...new Set(thresholds)];
  const boot = clusterBootstrap(patients, (idx) => {
    const out = [aurocValue(scores, labels, idx)];
    for (const t of ts) {
      let tp = 0, fn = 0, tn = 0, fp = 0;
      for (const i of idx) {
        const positive = scores[i] >= t;
        if (labels[i] === 1) positive ? tp++ : fn++;
        else positive ? fp++ : tn++;
      }
      out.push((tp + tn) / idx.length, tp + fn ? tp / (tp + fn) : Number.NaN, tn + fp ? tn / (tn + fp) : Number.NaN);
    }
    return out;
  }, options);
  const [a, ...rest] = boot.intervals;
  return {
    method: `percentile 95% CI from ${boot.draws} bootstrap resamples of the ${boot.clusters} patients (whole patients drawn with replacement, seed ${boot.seed}; resamples where a class is absent are left out)`,
    clusters: boot.clusters,
    resamples: boot.draws,
    seed: boot.seed,
    auroc: a,
    thresholds: ts.map((threshold, j) => ({ threshold, accuracy: rest[3 * j], sensitivity: rest[3 * j + 1], specificity: rest[3 * j + 2] })),
  };
}

function indices(n: number, keep: (i: number) => boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (keep(i)) out.push(i);
  return out;
}

const sum = (xs: ArrayLike<number>) => { let s = 0; for (let i = 0; i < xs.length; i++) s += xs[i]; return s; };
