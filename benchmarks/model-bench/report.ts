/**
 * Metrics, plots and files of a model bench: report.md, report.json, roc-<id>.svg and
 * calibration-<id>.svg per model, latency.svg with every model's stages.
 *
 * Every number comes from the shared implementations: tools/evaluation/metrics.ts
 * (AUROC with DeLong CI, Wilson intervals, ECE, Brier, reliability, ROC, patient-clustered
 * bootstrap), analysis.ts (per patient, applicability, refer band, breakdowns, metadata
 * baselines, verdict — the same as `npm run eval`), its svg.ts plots, and
 * benchmarks/stats.ts + histogram-svg.ts for latency.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  atThreshold, auroc, brier, ece, logisticCalibration, reliability, rocCurve,
  type Auroc, type LogisticCalibration, type ReliabilityBin, type RocPoint, type ThresholdMetrics,
} from '../../tools/evaluation/metrics.ts';
import { analyse, analysisMarkdown, type Analysis } from '../../tools/evaluation/analysis.ts';
import { calibrationSvg, rocSvg } from '../../tools/evaluation/svg.ts';
import { latencyHistogramSvg } from '../histogram-svg.ts';
import { summarise, type Summary } from '../stats.ts';
import type { CaseFormat, Dataset, Skipped } from './load.ts';
import type { ModelRun, Score } from './run.ts';

const STAGES = ['parse', 'decode', 'preprocess', 'inference', 'postprocess', 'total'] as const;

export const PATH_NOTES = {
  dicom: 'DICOM: inference/read-assist.ts readAssist, the served path (parse, decode first frame, VOI window or 0.5-99.5th percentile window, MONOCHROME1 inverted, centre square, lanczos3 to the card size, run); stage times are the finding\'s timingMs; probabilities are the finding\'s (rounded to 4 decimals, as served).',
  display: 'PNG/JPEG (and archive pixels), display path: these are display images already, so there is NO VOI windowing: decode with sharp to 8-bit grey (EXIF orientation applied, alpha dropped, RGB to luminance, 16-bit scaled to 8), centre square, lanczos3 to the card size (skipped when already that size), pixel/255, model.session.run; full-precision probabilities. This is how the thumbnail sets behind the first cards are fed (`npm run eval` reads them so).',
  served: 'PNG/JPEG, served path: each file read as an 8-bit grey film (inference/image-file.ts: colour and alpha flattened) and passed through the card\'s own preprocessing step — for a DICOM of the same pixels the worker does exactly this (window, crop, resize) — then model.session.run; full-precision probabilities.',
  checks: 'After the run, as a served finding: the graph\'s out-of-distribution score against the card\'s threshold (above it: not applicable), and the card\'s refer band for applicable images. DICOM also passes the card\'s population gate first (outside it: not applicable, no probability).',
};

export interface ModelResult {
  id: string;
  version: string;
  sha256: string;
  preprocessing: string;
  label: string;
  inputSize: [number, number];
  operatingPoint: { name: string; threshold: number; rule: string };
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

/**
 * A case counts only if every model scored it, so the side-by-side numbers are on the
 * same images; a case any model failed on is listed in `skipped` with that model's error.
 */
export function buildReport(dataset: Dataset, runs: ModelRun[], meta: { command?: string; by?: string[]; aim?: number; positive?: string } = {}): ModelBenchReport {
  const skipped = [...dataset.skipped];
  const failures = new Map<string, { model: string; reason: string }[]>();
  for (const run of runs) {
    for (const f of run.failed) failures.set(f.id, [...(failures.get(f.id) ?? []), { model: run.model.id, reason: f.reason }]);
  }
  // One line per file: a DICOM the decoder refuses fails the same way for every model.
  for (const c of dataset.cases) {
    const list = failures.get(c.id);
    if (!list) continue;
    const same = list.every((l) => l.reason === list[0].reason);
    const who = list.length === runs.length && runs.length > 1 ? 'every model' : list.map((l) => l.model).join(', ');
    skipped.push({ id: c.id, reason: same ? `${who}: ${list[0].reason}` : list.map((l) => `${l.model}: ${l.reason}`).join('; ') });
  }
  const cases: CaseResult[] = dataset.cases
    .filter((c) => runs.every((r) => r.scores.has(c.id)))
    .map((c) => ({ id: c.id, format: c.format, label: c.label, results: Object.fromEntries(runs.map((r) => [r.model.id, r.scores.get(c.id)!])) }));
  const positives = cases.reduce((s, c) => s + c.label, 0);
  const byFormat: Partial<Record<CaseFormat, number>> = {};
  for (const c of cases) byFormat[c.format] = (byFormat[c.format] ?? 0) + 1;
  const formats = Object.keys(byFormat) as CaseFormat[];
  const fileImages = formats.some((f) => f === 'png' || f === 'jpeg');
  const paths = [
    ...(formats.includes('dicom') ? [PATH_NOTES.dicom] : []),
    ...(fileImages && dataset.imagePrep === 'served' ? [PATH_NOTES.served] : []),
    ...(formats.includes('npz') || (fileImages && dataset.imagePrep === 'display') ? [PATH_NOTES.display] : []),
    PATH_NOTES.checks,
  ];
  const byId = new Map(dataset.cases.map((c) => [c.id, c]));
  const patients = dataset.patientColumn ? { column: dataset.patientColumn, ids: cases.map((c) => byId.get(c.id)!.patient!) } : undefined;
  const columns = Object.fromEntries(dataset.columns.map((col) => [col, cases.map((c) => byId.get(c.id)!.metadata?.[col] ?? '')]));
  const models = runs.map((run): ModelResult => {
    const scores = cases.map((c) => c.results[run.model.id]);
    const answered = cases.filter((c) => c.results[run.model.id].probability !== null);
    const probabilities = Float64Array.from(answered, (c) => c.results[run.model.id].probability!);
    const labels = Uint8Array.from(answered, (c) => c.label);
    const positives = labels.reduce((s, l) => s + l, 0);
    if (positives < 2 || labels.length - positives < 2) {
      throw new Error(`${run.model.id}: only ${labels.length} images with a probability (${positives} positive); metrics need at least 2 of each class (${cases.length - answered.length} not applicable without a probability)`);
    }
    const analysis = analyse({
      // The dataset's label, which need not be the card's finding.
      label: meta.positive ? `"${meta.positive}"` : 'this dataset\'s positives',
      ids: cases.map((c) => c.id),
      probabilities: scores.map((s) => s.probability),
      labels: cases.map((c) => c.label),
      notApplicable: scores.map((s) => s.notApplicable),
      ...(applicabilityCheck(run, formats) ? { applicabilityCheck: applicabilityCheck(run, formats) } : {}),
      operatingPoint: run.model.operatingPoint,
      ...(run.model.referBand ? { referBand: run.model.referBand } : {}),
      ...(patients ? { patients } : {}),
      columns,
      ...(meta.by ? { by: meta.by } : {}),
      ...(meta.aim !== undefined ? { aim: meta.aim } : {}),
    });
    let logistic: LogisticCalibration | null;
    try {
      logistic = logisticCalibration(probabilities, labels);
    } catch {
      logistic = null;
    }
    const latencyMs: ModelResult['latencyMs'] = {};
    for (const format of formats) {
      const timings = answered.filter((c) => c.format === format).map((c) => c.results[run.model.id].timingMs);
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
    const file = run.model.id.replace(/[^A-Za-z0-9._-]/g, '_');
    return {
      id: run.model.id, version: run.model.version, sha256: run.model.sha256, preprocessing: run.model.preprocessing,
      label: run.model.label, inputSize: run.model.inputSize, operatingPoint: run.model.operatingPoint,
      n: answered.length,
      auroc: auroc(probabilities, labels),
      atOperatingPoint: atThreshold(probabilities, labels, run.model.operatingPoint.threshold),
      ece: ece(probabilities, labels),
      brier: brier(probabilities, labels),
      logisticCalibration: logistic,
      reliability: reliability(probabilities, labels),
      meanProbability: probabilities.reduce((a, b) => a + b, 0) / probabilities.length,
      roc: rocCurve(probabilities, labels),
      latencyMs,
      analysis,
      plots: { roc: `roc-${file}.svg`, calibration: `calibration-${file}.svg` },
    };
  });
  return {
    generatedAt: new Date().toISOString(),
    command: meta.command,
    dataset: {
      source: dataset.source, root: dataset.root, labelSource: dataset.labelSource, n: cases.length, positives, negatives: cases.length - positives, byFormat, notes: dataset.notes,
      ...(dataset.patientColumn ? { patientColumn: dataset.patientColumn } : {}), columns: dataset.columns, imagePrep: dataset.imagePrep,
    },
    paths,
    skipped,
    models,
    cases,
  };
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

const strongestBaseline = (a: Analysis) => a.baselines.filter((b) => !b.restatesLabel).sort((x, y) => y.auroc.value - x.auroc.value)[0];
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const f3 = (x: number) => x.toFixed(3);
const ci = (c: [number, number]) => `${f3(c[0])}–${f3(c[1])}`;
const FORMAT_NAMES: Record<CaseFormat, string> = { dicom: 'DICOM', png: 'PNG', jpeg: 'JPEG', npz: 'archive' };

/** Rows of metric, one column per model: the table the CLI prints and report.md opens with. */
export function sideBySide(report: ModelBenchReport): string[][] {
  const ms = report.models;
  const rows: string[][] = [['', ...ms.map((m) => `${m.id} ${m.version}`)]];
  const row = (name: string, cell: (m: ModelResult) => string) => rows.push([name, ...ms.map(cell)]);
  const any = (has: (m: ModelResult) => unknown) => ms.some(has);
  row('label (card)', (m) => m.label);
  row('n (pos / neg)', (m) => `${m.n} (${m.auroc.nPos} / ${m.auroc.nNeg})`);
  row('AUROC (95% CI, DeLong)', (m) => `${f3(m.auroc.value)} (${ci(m.auroc.ci95)})`);
  if (any((m) => m.analysis.perImage.clustered)) row('AUROC 95% CI, patient-clustered', (m) => (m.analysis.perImage.clustered ? ci(m.analysis.perImage.clustered.auroc.ci95) : '–'));
  if (any((m) => m.analysis.perPatient)) {
    row('AUROC per patient (95% CI)', (m) => { const p = m.analysis.perPatient; return p?.auroc ? `${f3(p.auroc.value)} (${ci(p.auroc.ci95)}) n=${p.n}` : '–'; });
    row('sens / spec per patient', (m) => { const p = m.analysis.perPatient?.atOperatingPoint; return p ? `${p.sensitivity ? f3(p.sensitivity.value) : '–'} / ${p.specificity ? f3(p.specificity.value) : '–'}` : '–'; });
  }
  row('operating point', (m) => `${m.operatingPoint.name}, p >= ${m.operatingPoint.threshold.toFixed(4)}`);
  row('sensitivity (95% CI, Wilson)', (m) => `${f3(m.atOperatingPoint.sensitivity.value)} (${ci(m.atOperatingPoint.sensitivity.ci95)}) ${m.atOperatingPoint.sensitivity.k}/${m.atOperatingPoint.sensitivity.n}`);
  row('specificity (95% CI, Wilson)', (m) => `${f3(m.atOperatingPoint.specificity.value)} (${ci(m.atOperatingPoint.specificity.ci95)}) ${m.atOperatingPoint.specificity.k}/${m.atOperatingPoint.specificity.n}`);
  row('ECE (10 bins)', (m) => f3(m.ece));
  row('Brier', (m) => f3(m.brier));
  row('mean p vs prevalence', (m) => `${f3(m.meanProbability)} vs ${f3(m.auroc.nPos / m.n)}`);
  row('referred (refer band)', (m) => (m.analysis.applicability.referBand ? `${m.analysis.applicability.referred} (${pct(m.analysis.applicability.referredShare)})` : 'no band'));
  row('not applicable', (m) => (m.analysis.applicability.check ? `${m.analysis.applicability.notApplicable.length} (${pct(m.analysis.applicability.notApplicableShare)})` : 'not checked'));
  if (any((m) => m.analysis.applicable)) row('AUROC, applicable images', (m) => { const a = m.analysis.applicable; return a ? (a.auroc ? `${f3(a.auroc.value)} (${ci(a.auroc.ci95)}) n=${a.n}` : `– n=${a.n}`) : 'all applicable'; });
  if (any((m) => m.analysis.baselines.some((b) => !b.restatesLabel))) {
    row('strongest metadata alone (AUROC)', (m) => { const b = strongestBaseline(m.analysis); return b ? `${b.column} ${f3(b.auroc.value)}` : '–'; });
  }
  const formats = Object.keys(report.dataset.byFormat) as CaseFormat[];
  for (const format of formats) {
    for (const stage of STAGES) {
      if (!ms.some((m) => m.latencyMs[format]?.[stage])) continue;
      row(`${stage}${formats.length > 1 ? ` (${FORMAT_NAMES[format]})` : ''} p50 / p95 ms`, (m) => {
        const s = m.latencyMs[format]?.[stage];
        return s ? `${s.p50.toFixed(2)} / ${s.p95.toFixed(2)}` : '–';
      });
    }
  }
  return rows;
}

/** The side-by-side table as fixed-width text, for the terminal. */
export function formatTable(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r, j) => {
    const line = r.map((cell, i) => cell.padEnd(widths[i])).join('  ');
    return j === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
  }).join('\n');
}

export function writeReport(report: ModelBenchReport, outDir: string): string[] {
  fs.mkdirSync(outDir, { recursive: true });
  const files: Record<string, string> = {
    'report.json': `${JSON.stringify(report, null, 2)}\n`,
    'report.md': markdown(report),
    'latency.svg': latencySvg(report),
  };
  for (const m of report.models) {
    const title = `${m.id} ${m.version} (${m.label}), ${report.dataset.source}`;
    const point = m.atOperatingPoint;
    const pp = m.analysis.perPatient;
    files[m.plots.roc] = rocSvg(`ROC: ${title}`, m.roc, m.auroc, [{ name: `${m.operatingPoint.name} (t=${m.operatingPoint.threshold.toFixed(3)})`, fpr: 1 - point.specificity.value, tpr: point.sensitivity.value }],
      pp?.auroc && pp.roc ? [{ name: `per patient (n=${pp.n})`, roc: pp.roc, auc: pp.auroc }] : []);
    // A fit that did not converge is drawn as NaN (and says so in the legend) rather than invented.
    const fit = m.logisticCalibration
      ? { slope: m.logisticCalibration.slope.value, slopeFitIntercept: m.logisticCalibration.slopeFitIntercept, intercept: m.logisticCalibration.intercept.value }
      : { slope: Number.NaN, slopeFitIntercept: Number.NaN, intercept: Number.NaN };
    files[m.plots.calibration] = calibrationSvg(`Calibration: ${title}`, m.reliability, m.ece, fit, m.n);
  }
  return Object.entries(files).map(([name, text]) => {
    const file = path.join(outDir, name);
    fs.writeFileSync(file, text);
    return file;
  });
}

function latencySvg(report: ModelBenchReport): string {
  const formats = Object.keys(report.dataset.byFormat) as CaseFormat[];
  const series = report.models.flatMap((m) => formats.flatMap((format) => STAGES.filter((s) => s !== 'total' && m.latencyMs[format]?.[s]).map((stage) => ({
    name: `${m.id} ${stage}${formats.length > 1 ? ` (${FORMAT_NAMES[format]})` : ''}`,
    values: report.cases.filter((c) => c.format === format && c.results[m.id].probability !== null).map((c) => c.results[m.id].timingMs[stage]).filter((v) => v !== undefined),
    summary: m.latencyMs[format]![stage],
  }))));
  return `${latencyHistogramSvg(`Latency per stage, one image at a time (${report.dataset.n} images)`, series)}\n`;
}

function markdown(r: ModelBenchReport): string {
  const table = sideBySide(r);
  const byReason = new Map<string, number>();
  for (const s of r.skipped) {
    const key = s.reason.replace(/\(empty cell in .*\)/, '(empty cell)').replace(/line \d+/g, 'line …');
    byReason.set(key, (byReason.get(key) ?? 0) + 1);
  }
  const lines = [
    '# Model bench',
    '',
    `> Generated by \`${r.command ?? 'npm run bench:model'}\` on ${r.generatedAt} (benchmarks/model-bench). Do not edit by hand.`,
    '',
    '| | |',
    '|---|---|',
    `| data | \`${r.dataset.source}\` (${r.dataset.root}) |`,
    `| labels | ${r.dataset.labelSource} |`,
    `| scored by every model | n = ${r.dataset.n} (${r.dataset.positives} positive, ${r.dataset.negatives} negative): ${Object.entries(r.dataset.byFormat).map(([k, v]) => `${v} ${FORMAT_NAMES[k as CaseFormat]}`).join(', ')} |`,
    `| skipped | ${r.skipped.length} (listed below) |`,
    '',
    '## Verdicts',
    '',
    ...r.models.map((m) => `- **${m.id} ${m.version}** ${m.analysis.verdict}`),
    '',
    '## How images reach each model',
    '',
    ...r.paths.map((p) => `- ${p}`),
    ...r.dataset.notes.map((n) => `- ${n}`),
    '- Each model is loaded with `loadModel(dir, { threads })` (card schema, weights SHA-256 and graph contract checked) and scores one image at a time; latencies are wall-clock on this machine, not a throughput figure.',
    '',
    '## Side by side',
    '',
    `| ${table[0].join(' | ')} |`,
    `|${table[0].map(() => '---').join('|')}|`,
    ...table.slice(1).map((row) => `| ${row.join(' | ')} |`),
    '',
    'Read with care: each model is scored against **this dataset\'s** label, which may not be the finding its card was trained for;',
    'the operating point is the card\'s, chosen on the card\'s validation data, so sensitivity/specificity here show how it transfers;',
    'the CIs are per model (unpaired): overlapping intervals do not show the models are equivalent, nor do separate ones prove a paired difference.',
    ...(r.dataset.patientColumn ? [`Patients from \`${r.dataset.patientColumn}\`: per-patient rows use the rule "${r.models[0]?.analysis.perPatient?.rule ?? ''}".`] : []),
    '',
  ];
  for (const m of r.models) {
    const c = m.atOperatingPoint.confusion;
    const fit = m.logisticCalibration;
    lines.push(
      `## ${m.id} ${m.version}`,
      '',
      `**Verdict:** ${m.analysis.verdict}`,
      '',
      `Weights sha256 \`${m.sha256}\`, preprocessing \`${m.preprocessing}\` (${m.inputSize.join('x')}), label \`${m.label}\`; operating point ${m.operatingPoint.name} (${m.operatingPoint.rule}).`,
      '',
      `At p >= ${m.operatingPoint.threshold.toFixed(4)}: TP ${c.tp}, FN ${c.fn}, TN ${c.tn}, FP ${c.fp}; accuracy ${f3(m.atOperatingPoint.accuracy.value)} (${ci(m.atOperatingPoint.accuracy.ci95)}).`,
      fit
        ? `Logistic calibration: slope ${fit.slope.value.toFixed(2)} (${fit.slope.ci95.map((x) => x.toFixed(2)).join('–')}), calibration-in-the-large ${fit.intercept.value.toFixed(2)} (${fit.intercept.ci95.map((x) => x.toFixed(2)).join('–')}).`
        : 'Logistic calibration: the fit did not converge (scores separate the classes perfectly, or nearly).',
      '',
      '| bin | n | events | mean predicted | observed (95% CI, Wilson) |',
      '|---|---|---|---|---|',
      ...m.reliability.map((b) => `| ${b.bin[0].toFixed(1)}–${b.bin[1].toFixed(1)} | ${b.n} | ${b.events} | ${f3(b.meanProbability)} | ${f3(b.observed)} (${ci(b.observedCi95)}) |`),
      '',
      `![ROC ${m.id}](${m.plots.roc}) ![Calibration ${m.id}](${m.plots.calibration})`,
      '',
      ...analysisMarkdown(m.analysis, '###'),
    );
  }
  lines.push('## Latency', '', '![Latency per stage](latency.svg)', '', '| model | format | stage | n | p50 | p95 | p99 | mean | max |', '|---|---|---|---|---|---|---|---|---|');
  for (const m of r.models) {
    for (const [format, stages] of Object.entries(m.latencyMs)) {
      for (const [stage, s] of Object.entries(stages!)) lines.push(`| ${m.id} | ${FORMAT_NAMES[format as CaseFormat]} | ${stage} | ${s.n} | ${s.p50} | ${s.p95} | ${s.p99} | ${s.mean} | ${s.max} |`);
    }
  }
  lines.push('', `## Skipped (${r.skipped.length})`, '');
  if (r.skipped.length === 0) lines.push('None: every file under the data folder was scored by every model.');
  else {
    lines.push('| reason | files |', '|---|---|', ...[...byReason].map(([reason, n]) => `| ${reason} | ${n} |`), '', '| file | reason |', '|---|---|',
      ...r.skipped.map((s) => `| \`${s.id}\` | ${s.reason.replace(/\|/g, '\\|')} |`));
  }
  lines.push('', 'Per-case probabilities, labels and stage timings are in `report.json` (`cases`).', '');
  return lines.join('\n');
}
