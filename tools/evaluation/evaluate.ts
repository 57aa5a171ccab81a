/**
 * The evaluation harness: re-computes a model's card metrics from its labelled test set
 * (named by the card's `evaluation` object) through Lantern's own serving path, and
 * compares them with the card.
 *
 *   load (registry: card schema, weights hash, graph contract)
 *   → read dataset (datasets.ts)
 *   → predict (read-assist: model.session.run on batches of the dataset's tensor, probability
 *     and out-of-distribution score; risk: evaluateRisk per row)
 *   → metrics (metrics.ts), per patient when the dataset names patients
 *   → applicability, breakdowns, baselines, verdict (analysis.ts)
 *   → compare with the card (tolerances below)
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { outOfDistributionReason } from '../../inference/applicability.ts';
import type { ModelCard, ReadAssistCard } from '../../inference/model-card.ts';
import { loadModel, type LoadedModel, type ReadAssistModel, type RiskModel } from '../../inference/registry.ts';
import { evaluateRisk } from '../../inference/risk.ts';
import { analyse, type Analysis, type NotApplicableReason } from './analysis.ts';
import { EvaluationSpecError, parseEvaluationSpec, readImageSet, readRowSet, type EvaluationSpec } from './datasets.ts';
import {
  PATIENT_RULE, atThreshold, auroc, brier, ece, logisticCalibration, patientLevel, reliability, rocCurve,
  type Auroc, type ClusterBootstrapOptions, type LogisticCalibration, type ReliabilityBin, type RocPoint, type ThresholdMetrics,
} from './metrics.ts';

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

export interface EvaluationReport {
  model: { id: string; version: string; task: string; sha256: string; dir: string };
  spec: EvaluationSpec;
  dataset: { path: string; n: number; positives: number; negatives: number; notes: string[] };
  runtime: string;
  label?: string;
  metrics: NamedMetric[];
  auroc: Auroc;
  thresholds: ThresholdMetrics[];
  calibration: { ece: number; brier: number; logistic: LogisticCalibration; reliability: ReliabilityBin[]; meanProbability: number; prevalence: number };
  roc: RocPoint[];
  /** Named markers for the ROC plot (operating points, band boundaries). */
  markers: { name: string; threshold: number; fpr: number; tpr: number }[];
  comparison: Comparison[];
  /** Per-patient metrics (names end in " (per patient)"), when the dataset names patients. */
  patients?: { column: string; rule: string; n: number; positives: number; metrics: NamedMetric[]; auroc: Auroc; roc: RocPoint[] };
  /** read-assist: per patient, applicability, refer band, breakdowns, baselines and the verdict. */
  analysis?: Analysis;
  /** Rows the risk path flagged outside the validated range or population, by code. */
  inputWarnings?: Record<string, number>;
  predictions: { id: string; label: number; probability: number; patient?: string; outOfDistribution?: number; notApplicable?: string }[];
  timingMs: { load: number; data: number; predict: number; metrics: number };
}

export interface EvaluateOptions {
  /** Root of the shared data (`../shared/data`); dataset paths in cards are relative to it. */
  dataRoot: string;
  /** onnxruntime intra-op threads; 1 as in Lantern's workers. */
  threads?: number;
  /** Images per session.run. */
  batchSize?: number;
  /** Evaluate on this `evaluation` object instead of the card's (same schema); card metrics are compared only on its `metricsSplit`. */
  evaluation?: unknown;
  /** Break down only by these dataset columns (default: every extra column). */
  by?: string[];
  /** The AUROC aimed for (default: the evaluation object's `aim`). */
  aim?: number;
  /** Patient-clustered bootstrap (default 2000 resamples, seed 20240601). */
  bootstrap?: ClusterBootstrapOptions;
  onProgress?: (message: string) => void;
}

/** Evaluates the model folder `dir` on the dataset its card names. Throws if the card has no `evaluation`. */
export async function evaluateModel(dir: string, options: EvaluateOptions): Promise<EvaluationReport> {
  const progress = options.onProgress ?? (() => {});
  const t0 = performance.now();
  progress(`loading ${dir} (card schema, weights sha256, graph contract)`);
  const model = await loadModel(dir, { threads: options.threads ?? 1 });
  try {
    const t1 = performance.now();
    const raw = options.evaluation ?? model.card.evaluation;
    if (!raw) throw new EvaluationSpecError(dir, 'card has no "evaluation" object; nothing to recompute');
    const spec = parseEvaluationSpec(dir, raw);
    let probabilities: Float64Array;
    let labels: Uint8Array;
    let ids: string[];
    let notes: string[];
    let runtime: string;
    let label: string | undefined;
    let inputWarnings: Record<string, number> | undefined;
    let patients: { column: string; ids: string[] } | undefined;
    let columns: Record<string, string[]> | undefined;
    let oodScores: Float64Array | undefined;
    let t2: number;
    if (model.card.task === 'read-assist') {
      const m = model as ReadAssistModel;
      const labelSpec = spec.label ? m.card.labels.find((l) => l.id === spec.label) : m.card.labels[0];
      if (!labelSpec) throw new EvaluationSpecError(dir, `evaluation.label "${spec.label}" is not a label of the card`);
      label = labelSpec.id;
      const input = m.card.inputs[0];
      progress(`reading ${spec.dataset.kind} ${spec.dataset.path}`);
      const set = await readImageSet(options.dataRoot, spec.dataset, input.shape, { preprocessing: m.preprocessing, size: m.card.preprocessing.size as [number, number], chain: m.chain });
      t2 = performance.now();
      progress(`running ${set.shape[0]} images through model.session.run (batch ${options.batchSize ?? 64})`);
      ({ probabilities, oodScores } = await runImages(m, input.name, labelSpec.output, labelSpec.index, set.data, set.shape, options.batchSize ?? 64, progress));
      ({ labels, ids, notes, patients, columns } = set);
      runtime = spec.dataset.kind === 'image-csv'
        ? `onnxruntime-node through inference/registry.ts loadModel(dir, {threads}) and model.session.run, input = the card's serving preprocessing ${m.preprocessing} of each film (inference/image-file.ts)`
        : 'onnxruntime-node through inference/registry.ts loadModel(dir, {threads}) and model.session.run, input = pixel/255 (Lantern\'s DICOM preprocessing bypassed: thumbnail dataset)';
    } else if (model.card.task === 'risk') {
      const m = model as RiskModel;
      if (spec.dataset.kind !== 'csv') throw new EvaluationSpecError(dir, `a risk model needs a csv dataset, not ${spec.dataset.kind}`);
      progress(`reading csv ${spec.dataset.path}`);
      const set = readRowSet(options.dataRoot, spec.dataset, m.card.features);
      t2 = performance.now();
      progress(`scoring ${set.rows.length} rows through evaluateRisk`);
      probabilities = new Float64Array(set.rows.length);
      inputWarnings = {};
      for (let i = 0; i < set.rows.length; i++) {
        const answer = await evaluateRisk(m, set.rows[i]);
        probabilities[i] = answer.risk;
        for (const w of answer.warnings) inputWarnings[`${w.code} ${w.feature}`] = (inputWarnings[`${w.code} ${w.feature}`] ?? 0) + 1;
      }
      ({ labels, ids, notes } = set);
      runtime = 'onnxruntime-node through inference/registry.ts loadModel and inference/risk.ts evaluateRisk (unit conversion, range checks, graph), one row per call';
    } else {
      throw new EvaluationSpecError(dir, `task ${model.card.task} has no evaluation path (only read-assist and risk)`);
    }
    const t3 = performance.now();
    progress('computing metrics');
    const result = computeMetrics(model.card, probabilities, labels, label);
    const extras = model.card.task === 'read-assist'
      ? beyondTheCard(model.card, spec, options, result, { probabilities, labels, ids, label: label!, patients, columns, oodScores })
      : undefined;
    const perPatient = extras?.perPatient;
    const notApplicable = extras?.notApplicable ?? [];
    const comparison = compareWithCard(model.card, spec.metricsSplit, [...result.metrics, ...(perPatient?.metrics ?? [])], perPatient?.n);
    const t4 = performance.now();
    return {
      model: { id: model.card.id, version: model.card.version, task: model.card.task, sha256: model.sha256, dir: path.resolve(dir) },
      spec,
      dataset: { path: spec.dataset.path, n: labels.length, positives: result.auroc.nPos, negatives: result.auroc.nNeg, notes },
      runtime,
      label,
      ...result,
      comparison,
      ...(perPatient ? { patients: perPatient } : {}),
      ...(extras ? { analysis: extras.analysis } : {}),
      inputWarnings,
      predictions: Array.from(probabilities, (p, i) => ({
        id: ids[i], label: labels[i], probability: p,
        ...(patients ? { patient: patients.ids[i] } : {}),
        ...(oodScores ? { outOfDistribution: oodScores[i] } : {}),
        ...(notApplicable[i] ? { notApplicable: notApplicable[i]!.code } : {}),
      })),
      timingMs: { load: t1 - t0, data: t2 - t1, predict: t3 - t2, metrics: t4 - t3 },
    };
  } finally {
    if ('session' in model) await model.session.release();
  }
}

/**
 * A read-assist model's numbers beyond the card's per-image ones: per-patient metrics (named
 * for the card comparison), the out-of-distribution verdict per image, and the analysis
 * (analysis.ts); the per-image metrics get their patient-clustered CIs from it, in place.
 */
function beyondTheCard(card: ReadAssistCard, spec: EvaluationSpec, options: EvaluateOptions, result: ReturnType<typeof computeMetrics>, data: {
  probabilities: Float64Array; labels: Uint8Array; ids: string[]; label: string;
  patients?: { column: string; ids: string[] }; columns?: Record<string, string[]>; oodScores?: Float64Array;
}): { perPatient?: EvaluationReport['patients']; analysis: Analysis; notApplicable: (NotApplicableReason | undefined)[] } {
  const { probabilities, labels, ids, label, patients, columns, oodScores } = data;
  let perPatient: EvaluationReport['patients'];
  if (patients) {
    const level = patientLevel(probabilities, labels, patients.ids);
    const m = namedMetrics(card, level.scores, level.labels, label);
    perPatient = {
      column: patients.column, rule: PATIENT_RULE, n: level.patients.length, positives: m.auroc.nPos,
      metrics: m.metrics.map((x) => ({ ...x, name: `${x.name}${PER_PATIENT}`, method: `${x.method}; per patient (${PATIENT_RULE})` })),
      auroc: m.auroc, roc: m.roc,
    };
  }
  const ood = card.outOfDistribution;
  // A NaN score cannot vouch for the image, as in the worker (inference/read-assist.ts).
  const notApplicable = ood && oodScores ? Array.from(oodScores, (s) => outOfDistributionReason(ood, Number.isFinite(s) ? s : Infinity)) : Array.from(labels, () => undefined);
  const point = card.operatingPoints.find((p) => p.label === label)!;
  const band = card.referBands?.find((b) => b.label === label);
  const aim = options.aim ?? spec.aim;
  options.onProgress?.(patients ? `patient-clustered bootstrap over ${perPatient!.n} patients, breakdowns, baselines` : 'applicability, breakdowns, baselines');
  const analysis = analyse({
    label, ids, probabilities, labels, notApplicable,
    ...(ood && oodScores ? { applicabilityCheck: `the graph's out-of-distribution score (${ood.output}) against the card's threshold ${ood.threshold}; above it the image is not applicable` } : {}),
    operatingPoint: { name: point.name, threshold: point.threshold },
    ...(band ? { referBand: { low: band.low, high: band.high } } : {}),
    ...(patients ? { patients } : {}),
    ...(columns ? { columns } : {}),
    ...(options.by ? { by: options.by } : {}),
    ...(aim !== undefined ? { aim } : {}),
    thresholds: result.thresholds.map((t) => t.threshold),
    ...(options.bootstrap ? { bootstrap: options.bootstrap } : {}),
  });
  const clustered = analysis.perImage.clustered;
  if (clustered) {
    for (const metric of result.metrics) {
      if (metric.name === 'AUROC') metric.ci95PatientClustered = clustered.auroc.ci95;
      const kind = /^(accuracy|sensitivity|specificity)@/.exec(metric.name)?.[1] as 'accuracy' | 'sensitivity' | 'specificity' | undefined;
      const c = kind && clustered.thresholds.find((x) => x.threshold === metric.threshold);
      if (kind && c) metric.ci95PatientClustered = c[kind].ci95;
    }
  }
  return { ...(perPatient ? { perPatient } : {}), analysis, notApplicable };
}

/** Probabilities of one label and, when the graph has it, the out-of-distribution score per image. */
async function runImages(model: ReadAssistModel, inputName: string, outputName: string, index: number, data: Float32Array,
  shape: [number, number, number, number], batchSize: number, progress: (m: string) => void): Promise<{ probabilities: Float64Array; oodScores?: Float64Array }> {
  const [n, c, h, w] = shape;
  const per = c * h * w;
  const out = new Float64Array(n);
  const oodName = model.card.outOfDistribution?.output;
  const ood = oodName && model.session.outputNames.includes(oodName) ? new Float64Array(n) : undefined;
  const fetches = ood ? [outputName, oodName!] : [outputName];
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    const tensor = new ort.Tensor('float32', data.subarray(start * per, (start + count) * per), [count, c, h, w]);
    const result = await model.session.run({ [inputName]: tensor }, fetches);
    const values = result[outputName].data as Float32Array;
    const width = values.length / count;
    for (let i = 0; i < count; i++) {
      const p = values[i * width + index];
      if (!Number.isFinite(p)) throw new Error(`${model.key} produced a non-finite ${outputName} for image ${start + i}`);
      out[start + i] = p;
    }
    if (ood) {
      const scores = result[oodName!].data as Float32Array;
      for (let i = 0; i < count; i++) ood[start + i] = scores[i];
    }
    if (start + count === n || ((start / batchSize) % 10 === 9)) progress(`  ${start + count}/${n} images`);
  }
  return { probabilities: out, ...(ood ? { oodScores: ood } : {}) };
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
  const markers: EvaluationReport['markers'] = [];
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
