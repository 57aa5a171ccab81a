/**
 * The evaluation harness: re-computes a model's card metrics from its labelled test set
 * (named by the card's `evaluation` object) through Lantern's own serving path, and
 * compares them with the card.
 *
 *   load (registry: card schema, weights hash, graph contract)
 *   → read dataset (datasets.ts)
 *   → predict (read-assist: model.session.run on batches of the dataset's tensor, probability
 *     and out-of-distribution score; risk: evaluateRisk per row)
 *   → metrics (metrics.ts), per patient when the dataset names patients (patients.ts)
 *   → applicability, breakdowns, baselines, verdict (analysis.ts)
 *   → compare with the card (card-metrics.ts: the names and tolerances)
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { outOfDistributionReason } from '../../inference/applicability.ts';
import type { ReadAssistCard } from '../../inference/model-card.ts';
import { loadModel, type LoadedModel, type ReadAssistModel, type RiskModel } from '../../inference/registry.ts';
import { evaluateRisk } from '../../inference/risk.ts';
import { analyse, type Analysis, type NotApplicableReason } from './analysis.ts';
import { PER_PATIENT, compareWithCard, computeMetrics, namedMetrics, type Comparison, type Marker, type NamedMetric } from './card-metrics.ts';
import { readImageSet, readRowSet } from './datasets.ts';
import type { Auroc, LogisticCalibration, ReliabilityBin, RocPoint, ThresholdMetrics } from './metrics.ts';
import { PATIENT_RULE, patientLevel, type ClusterBootstrapOptions } from './patients.ts';
import { EvaluationSpecError, parseEvaluationSpec, type EvaluationSpec } from './spec.ts';

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
  markers: Marker[];
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
    const predicted = await predict(model, spec, dir, options, progress);
    const { probabilities, labels, ids, label, patients, oodScores } = predicted;
    const t3 = performance.now();
    progress('computing metrics');
    const result = computeMetrics(model.card, probabilities, labels, label);
    const extras = model.card.task === 'read-assist' ? beyondTheCard(model.card, spec, options, result, { ...predicted, label: label! }) : undefined;
    const perPatient = extras?.perPatient;
    const notApplicable = extras?.notApplicable ?? [];
    const comparison = compareWithCard(model.card, spec.metricsSplit, [...result.metrics, ...(perPatient?.metrics ?? [])], perPatient?.n);
    const t4 = performance.now();
    return {
      model: { id: model.card.id, version: model.card.version, task: model.card.task, sha256: model.sha256, dir: path.resolve(dir) },
      spec,
      dataset: { path: spec.dataset.path, n: labels.length, positives: result.auroc.nPos, negatives: result.auroc.nNeg, notes: predicted.notes },
      runtime: predicted.runtime,
      label,
      ...result,
      comparison,
      ...(perPatient ? { patients: perPatient } : {}),
      ...(extras ? { analysis: extras.analysis } : {}),
      inputWarnings: predicted.inputWarnings,
      predictions: Array.from(probabilities, (p, i) => ({
        id: ids[i], label: labels[i], probability: p,
        ...(patients ? { patient: patients.ids[i] } : {}),
        ...(oodScores ? { outOfDistribution: oodScores[i] } : {}),
        ...(notApplicable[i] ? { notApplicable: notApplicable[i]!.code } : {}),
      })),
      timingMs: { load: t1 - t0, data: predicted.dataReadAt - t1, predict: t3 - predicted.dataReadAt, metrics: t4 - t3 },
    };
  } finally {
    if ('session' in model) await model.session.release();
  }
}

/** A model's answers on the evaluation set, and how they were obtained, in the report's words. */
interface Predictions {
  probabilities: Float64Array;
  labels: Uint8Array;
  ids: string[];
  notes: string[];
  runtime: string;
  /** performance.now() when the data was read and prediction began. */
  dataReadAt: number;
  /** read-assist: the card label evaluated. */
  label?: string;
  /** risk: rows flagged outside the validated range or population, by code. */
  inputWarnings?: Record<string, number>;
  patients?: { column: string; ids: string[] };
  columns?: Record<string, string[]>;
  oodScores?: Float64Array;
}

async function predict(model: LoadedModel, spec: EvaluationSpec, dir: string, options: EvaluateOptions, progress: (m: string) => void): Promise<Predictions> {
  if (model.card.task === 'read-assist') return predictImages(model as ReadAssistModel, spec, dir, options, progress);
  if (model.card.task === 'risk') return predictRows(model as RiskModel, spec, dir, options, progress);
  throw new EvaluationSpecError(dir, `task ${model.card.task} has no evaluation path (only read-assist and risk)`);
}

/** read-assist: the image set as the model's input tensor, through model.session.run in batches. */
async function predictImages(m: ReadAssistModel, spec: EvaluationSpec, dir: string, options: EvaluateOptions, progress: (m: string) => void): Promise<Predictions> {
  const labelSpec = spec.label ? m.card.labels.find((l) => l.id === spec.label) : m.card.labels[0];
  if (!labelSpec) throw new EvaluationSpecError(dir, `evaluation.label "${spec.label}" is not a label of the card`);
  const input = m.card.inputs[0];
  progress(`reading ${spec.dataset.kind} ${spec.dataset.path}`);
  const set = await readImageSet(options.dataRoot, spec.dataset, input.shape, { preprocessing: m.preprocessing, size: m.card.preprocessing.size as [number, number], chain: m.chain });
  const dataReadAt = performance.now();
  progress(`running ${set.shape[0]} images through model.session.run (batch ${options.batchSize ?? 64})`);
  const { probabilities, oodScores } = await runImages(m, input.name, labelSpec.output, labelSpec.index, set.data, set.shape, options.batchSize ?? 64, progress);
  const { labels, ids, notes, patients, columns } = set;
  const runtime = spec.dataset.kind === 'image-csv'
    ? `onnxruntime-node through inference/registry.ts loadModel(dir, {threads}) and model.session.run, input = the card's serving preprocessing ${m.preprocessing} of each film (inference/image-file.ts)`
    : 'onnxruntime-node through inference/registry.ts loadModel(dir, {threads}) and model.session.run, input = pixel/255 (Lantern\'s DICOM preprocessing bypassed: thumbnail dataset)';
  return { probabilities, labels, ids, notes, runtime, dataReadAt, label: labelSpec.id, patients, columns, oodScores };
}

/** risk: every CSV row through evaluateRisk, as the API runs a request. */
async function predictRows(m: RiskModel, spec: EvaluationSpec, dir: string, options: EvaluateOptions, progress: (m: string) => void): Promise<Predictions> {
  if (spec.dataset.kind !== 'csv') throw new EvaluationSpecError(dir, `a risk model needs a csv dataset, not ${spec.dataset.kind}`);
  progress(`reading csv ${spec.dataset.path}`);
  const set = readRowSet(options.dataRoot, spec.dataset, m.card.features);
  const dataReadAt = performance.now();
  progress(`scoring ${set.rows.length} rows through evaluateRisk`);
  const probabilities = new Float64Array(set.rows.length);
  const inputWarnings: Record<string, number> = {};
  for (let i = 0; i < set.rows.length; i++) {
    const answer = await evaluateRisk(m, set.rows[i]);
    probabilities[i] = answer.risk;
    for (const w of answer.warnings) inputWarnings[`${w.code} ${w.feature}`] = (inputWarnings[`${w.code} ${w.feature}`] ?? 0) + 1;
  }
  const { labels, ids, notes } = set;
  const runtime = 'onnxruntime-node through inference/registry.ts loadModel and inference/risk.ts evaluateRisk (unit conversion, range checks, graph), one row per call';
  return { probabilities, labels, ids, notes, runtime, dataReadAt, inputWarnings };
}

/**
 * A read-assist model's numbers beyond the card's per-image ones: per-patient metrics (named
 * for the card comparison), the out-of-distribution verdict per image, and the analysis
 * (analysis.ts); the per-image metrics get their patient-clustered CIs from it, in place.
 */
function beyondTheCard(card: ReadAssistCard, spec: EvaluationSpec, options: EvaluateOptions, result: ReturnType<typeof computeMetrics>,
  data: Pick<Predictions, 'probabilities' | 'labels' | 'ids' | 'patients' | 'columns' | 'oodScores'> & { label: string }): { perPatient?: EvaluationReport['patients']; analysis: Analysis; notApplicable: (NotApplicableReason | undefined)[] } {
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
