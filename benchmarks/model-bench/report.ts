/**
 * The numbers of a model bench, one ModelResult per model on the cases every model scored
 * (render.ts turns them into report.md, report.json, roc-<id>.svg and calibration-<id>.svg
 * per model, latency.svg with every model's stages, and the terminal table).
 *
 * Every number comes from the shared implementations: tools/evaluation/metrics.ts (AUROC
 * with DeLong CI, Wilson intervals, ECE, Brier, reliability, ROC), patients.ts (patient-
 * clustered bootstrap), analysis.ts (per patient, applicability, refer band, breakdowns, metadata
 * baselines, verdict — the same as `npm run eval`), and benchmarks/stats.ts for latency.
 */
import {
  atThreshold, auroc, brier, ece, logisticCalibration, reliability, rocCurve,
  type Auroc, type LogisticCalibration, type ReliabilityBin, type RocPoint, type ThresholdMetrics,
} from '../../tools/evaluation/metrics.ts';
import { analyse, type Analysis } from '../../tools/evaluation/analysis.ts';
import { summarise, type Summary } from '../stats.ts';
import type { CaseFormat, Dataset, Skipped } from './dataset.ts';
import type { ModelRun, Score } from './run.ts';

export const STAGES = ['parse', 'decode', 'preprocess', 'inference', 'postprocess', 'total'] as const;

export const PATH_NOTES = {
  dicom: 'DICOM: inference/read-assist.ts readAssist, the served path (parse, decode first frame, VOI window or 0.5-99.5th percentile window, MONOCHROME1 inverted, centre square, lanczos3 to the card size, run); stage times are the finding\'s timingMs; probabilities are the finding\'s (rounded to 4 decimals, as served).',
  display: 'PNG/JPEG (and archive pixels), display path: these are display images already, so there is NO VOI windowing: decode with sharp to 8-bit grey (EXIF orientation applied, alpha dropped, RGB to luminance, 16-bit scaled to 8), centre square, lanczos3 to the card size (skipped when already that size), pixel/255, model.session.run; full-precision probabilities. This is how the thumbnail sets behind the first cards are fed (`npm run eval` reads them so).',
  served: 'PNG/JPEG, served path: each file read as an 8-bit grey film (inference/image-file.ts: colour and alpha flattened) and passed through the card\'s own preprocessing step — for a DICOM of the same pixels the worker does exactly this (window, crop, resize) — then model.session.run; full-precision probabilities.',
  checks: 'After the run, as a served finding: the graph\'s out-of-distribution score against the card\'s threshold (above it: not applicable), and the card\'s refer band for applicable images. DICOM also passes the card\'s population gate first (outside it: not applicable, no probability).',
};

/** The card's identity and operating point as the run loaded them, and the model's numbers on the scored cases. */
export interface ModelResult extends Pick<ModelRun['model'], 'id' | 'version' | 'sha256' | 'preprocessing' | 'label' | 'inputSize' | 'operatingPoint'> {
  /** Images with a probability (all but those a DICOM gate left unanswered): the metrics' denominator. */
  n: number;
  auroc: Auroc;
  /** Sensitivity / specificity / accuracy at the card's operating point, Wilson 95% CIs. */
  atOperatingPoint: ThresholdMetrics;
  ece: number;
  brier: number;
  /** null when the logistic fit does not converge (e.g. perfectly separated scores). */
  logisticCalibration: LogisticCalibration | null;
  reliability: ReliabilityBin[];
  meanProbability: number;
  roc: RocPoint[];
  /** Per stage (+ total), per input format, images the model ran on: nearest-rank p50/p95/p99 of milliseconds. */
  latencyMs: Partial<Record<CaseFormat, Record<string, Summary>>>;
  /** Per patient, patient-clustered CIs, applicability, refer band, breakdowns, baselines, verdict. */
  analysis: Analysis;
  plots: { roc: string; calibration: string };
}

export interface CaseResult {
  id: string;
  format: CaseFormat;
  label: 0 | 1;
  /** Model id → its score for this case. */
  results: Record<string, Score>;
}

export interface ModelBenchReport {
  generatedAt: string;
  command?: string;
  dataset: {
    source: string;
    root: string;
    labelSource: string;
    /** Cases scored by every model (a not-applicable DICOM counts: the model answered "not applicable"). */
    n: number;
    positives: number;
    negatives: number;
    byFormat: Partial<Record<CaseFormat, number>>;
    notes: string[];
    patientColumn?: string;
    /** The labels' other columns (breakdowns and baselines). */
    columns: string[];
    imagePrep: 'served' | 'display';
  };
  /** How each input format reached the model. */
  paths: string[];
  skipped: Skipped[];
  models: ModelResult[];
  cases: CaseResult[];
}

/** What the CLI adds: the command line, `--by`, `--aim` and the dataset's positive class name. */
export interface ReportMeta { command?: string; by?: string[]; aim?: number; positive?: string }

/**
 * A case counts only if every model scored it, so the side-by-side numbers are on the
 * same images; a case any model failed on is listed in `skipped` with that model's error.
 */
export function buildReport(dataset: Dataset, runs: ModelRun[], meta: ReportMeta = {}): ModelBenchReport {
  const skipped = [...dataset.skipped, ...failedCases(dataset, runs)];
  const cases: CaseResult[] = dataset.cases
    .filter((c) => runs.every((r) => r.scores.has(c.id)))
    .map((c) => ({ id: c.id, format: c.format, label: c.label, results: Object.fromEntries(runs.map((r) => [r.model.id, r.scores.get(c.id)!])) }));
  const positives = cases.reduce((s, c) => s + c.label, 0);
  const byFormat: Partial<Record<CaseFormat, number>> = {};
  for (const c of cases) byFormat[c.format] = (byFormat[c.format] ?? 0) + 1;
  const formats = Object.keys(byFormat) as CaseFormat[];
  const csv = labelsCsvCells(dataset, cases);
  const models = runs.map((run) => modelResult(run, cases, formats, csv, meta));
  return {
    generatedAt: new Date().toISOString(),
    command: meta.command,
    dataset: {
      source: dataset.source, root: dataset.root, labelSource: dataset.labelSource, n: cases.length, positives, negatives: cases.length - positives, byFormat, notes: dataset.notes,
      ...(dataset.patientColumn ? { patientColumn: dataset.patientColumn } : {}), columns: dataset.columns, imagePrep: dataset.imagePrep,
    },
    paths: pathNotes(formats, dataset.imagePrep),
    skipped,
    models,
    cases,
  };
}

/** One line per file a model failed on: a DICOM the decoder refuses fails the same way for every model. */
function failedCases(dataset: Dataset, runs: ModelRun[]): Skipped[] {
  const failures = new Map<string, { model: string; reason: string }[]>();
  for (const run of runs) {
    for (const f of run.failed) failures.set(f.id, [...(failures.get(f.id) ?? []), { model: run.model.id, reason: f.reason }]);
  }
  return dataset.cases.flatMap((c) => {
    const list = failures.get(c.id);
    if (!list) return [];
    const same = list.every((l) => l.reason === list[0].reason);
    const who = list.length === runs.length && runs.length > 1 ? 'every model' : list.map((l) => l.model).join(', ');
    return [{ id: c.id, reason: same ? `${who}: ${list[0].reason}` : list.map((l) => `${l.model}: ${l.reason}`).join('; ') }];
  });
}

/** How each input format present reached the models, then the checks every format gets. */
function pathNotes(formats: CaseFormat[], imagePrep: Dataset['imagePrep']): string[] {
  const fileImages = formats.some((f) => f === 'png' || f === 'jpeg');
  return [
    ...(formats.includes('dicom') ? [PATH_NOTES.dicom] : []),
    ...(fileImages && imagePrep === 'served' ? [PATH_NOTES.served] : []),
    ...(formats.includes('npz') || (fileImages && imagePrep === 'display') ? [PATH_NOTES.display] : []),
    PATH_NOTES.checks,
  ];
}

/** The labels' patients and other columns, one cell per counted case, as the analysis takes them. */
interface LabelsCsvCells { patients?: { column: string; ids: string[] }; columns: Record<string, string[]> }

function labelsCsvCells(dataset: Dataset, cases: CaseResult[]): LabelsCsvCells {
  const byId = new Map(dataset.cases.map((c) => [c.id, c]));
  const patients = dataset.patientColumn ? { column: dataset.patientColumn, ids: cases.map((c) => byId.get(c.id)!.patient!) } : undefined;
  const columns = Object.fromEntries(dataset.columns.map((col) => [col, cases.map((c) => byId.get(c.id)!.metadata?.[col] ?? '')]));
  return { ...(patients ? { patients } : {}), columns };
}

/** One model's metrics on the images it gave a probability for, its latency, and the analysis on every counted case. */
function modelResult(run: ModelRun, cases: CaseResult[], formats: CaseFormat[], csv: LabelsCsvCells, meta: ReportMeta): ModelResult {
  const id = run.model.id;
  const answered = cases.filter((c) => c.results[id].probability !== null);
  const probabilities = Float64Array.from(answered, (c) => c.results[id].probability!);
  const labels = Uint8Array.from(answered, (c) => c.label);
  const positives = labels.reduce((s, l) => s + l, 0);
  if (positives < 2 || labels.length - positives < 2) {
    throw new Error(`${id}: only ${labels.length} images with a probability (${positives} positive); metrics need at least 2 of each class (${cases.length - answered.length} not applicable without a probability)`);
  }
  const file = id.replace(/[^A-Za-z0-9._-]/g, '_');
  return {
    id, version: run.model.version, sha256: run.model.sha256, preprocessing: run.model.preprocessing,
    label: run.model.label, inputSize: run.model.inputSize, operatingPoint: run.model.operatingPoint,
    n: answered.length,
    auroc: auroc(probabilities, labels),
    atOperatingPoint: atThreshold(probabilities, labels, run.model.operatingPoint.threshold),
    ece: ece(probabilities, labels),
    brier: brier(probabilities, labels),
    logisticCalibration: logisticFitOrNull(probabilities, labels),
    reliability: reliability(probabilities, labels),
    meanProbability: probabilities.reduce((a, b) => a + b, 0) / probabilities.length,
    roc: rocCurve(probabilities, labels),
    latencyMs: latencyByFormat(id, answered, formats),
    analysis: analysisOf(run, cases, formats, csv, meta),
    plots: { roc: `roc-${file}.svg`, calibration: `calibration-${file}.svg` },
  };
}

function analysisOf(run: ModelRun, cases: CaseResult[], formats: CaseFormat[], csv: LabelsCsvCells, meta: ReportMeta): Analysis {
  const scores = cases.map((c) => c.results[run.model.id]);
  const check = applicabilityCheck(run, formats);
  return analyse({
    // The dataset's label, which need not be the card's finding.
    label: meta.positive ? `"${meta.positive}"` : 'this dataset\'s positives',
    ids: cases.map((c) => c.id),
    probabilities: scores.map((s) => s.probability),
    labels: cases.map((c) => c.label),
    notApplicable: scores.map((s) => s.notApplicable),
    ...(check ? { applicabilityCheck: check } : {}),
    operatingPoint: run.model.operatingPoint,
    ...(run.model.referBand ? { referBand: run.model.referBand } : {}),
    ...(csv.patients ? { patients: csv.patients } : {}),
    columns: csv.columns,
    ...(meta.by ? { by: meta.by } : {}),
    ...(meta.aim !== undefined ? { aim: meta.aim } : {}),
  });
}

/** null when the fit does not converge (e.g. perfectly separated scores), rather than an invented slope. */
function logisticFitOrNull(probabilities: Float64Array, labels: Uint8Array): LogisticCalibration | null {
  try {
    return logisticCalibration(probabilities, labels);
  } catch {
    return null;
  }
}

/** Per input format, per stage and in total, of the images the model ran on. */
function latencyByFormat(id: string, answered: CaseResult[], formats: CaseFormat[]): ModelResult['latencyMs'] {
  const latencyMs: ModelResult['latencyMs'] = {};
  for (const format of formats) {
    const timings = answered.filter((c) => c.format === format).map((c) => c.results[id].timingMs);
    if (timings.length === 0) continue;
    const stages: Record<string, Summary> = {};
    for (const stage of STAGES) {
      const values = stage === 'total'
        ? timings.map((t) => Object.values(t).reduce((a, b) => a + b, 0))
        : timings.filter((t) => t[stage] !== undefined).map((t) => t[stage]);
      if (values.length > 0) stages[stage] = summarise(values);
    }
    latencyMs[format] = stages;
  }
  return latencyMs;
}

/** How applicability was checked for this model on these formats, in words (undefined: not at all). */
function applicabilityCheck(run: ModelRun, formats: CaseFormat[]): string | undefined {
  const ood = run.model.outOfDistribution;
  const parts = [
    ...(formats.includes('dicom') ? ['DICOM: the card\'s population gate in readAssist (attributes), then the out-of-distribution gate'] : []),
    ...(ood && formats.some((f) => f !== 'dicom') ? [`image files: the graph's ${ood.output} against the card's threshold ${ood.threshold}`] : []),
  ];
  return parts.length > 0 ? parts.join('; ') : undefined;
}
