/**
 * A model bench report as text and files: the side-by-side table (terminal and report.md),
 * report.md with a section per model, report.json, and the plots — tools/evaluation/svg.ts
 * for ROC and calibration, benchmarks/histogram-svg.ts for latency.
 */
import fs from 'node:fs';
import path from 'node:path';
import { analysisMarkdown, strongestBaseline } from '../../tools/evaluation/analysis-text.ts';
import { calibrationSvg, rocSvg } from '../../tools/evaluation/svg.ts';
import { latencyHistogramSvg } from '../histogram-svg.ts';
import type { CaseFormat } from './dataset.ts';
import { STAGES, type ModelBenchReport, type ModelResult } from './report.ts';

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
    ...r.models.flatMap(modelSection),
    ...latencySection(r),
    ...skippedSection(r),
    '', 'Per-case probabilities, labels and stage timings are in `report.json` (`cases`).', '',
  ];
  return lines.join('\n');
}

function modelSection(m: ModelResult): string[] {
  const c = m.atOperatingPoint.confusion;
  const fit = m.logisticCalibration;
  return [
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
  ];
}

function latencySection(r: ModelBenchReport): string[] {
  const lines = ['## Latency', '', '![Latency per stage](latency.svg)', '', '| model | format | stage | n | p50 | p95 | p99 | mean | max |', '|---|---|---|---|---|---|---|---|---|'];
  for (const m of r.models) {
    for (const [format, stages] of Object.entries(m.latencyMs)) {
      for (const [stage, s] of Object.entries(stages!)) lines.push(`| ${m.id} | ${FORMAT_NAMES[format as CaseFormat]} | ${stage} | ${s.n} | ${s.p50} | ${s.p95} | ${s.p99} | ${s.mean} | ${s.max} |`);
    }
  }
  return lines;
}

/** Counts per reason (line numbers and CSV cells folded), then every skipped file. */
function skippedSection(r: ModelBenchReport): string[] {
  const lines = ['', `## Skipped (${r.skipped.length})`, ''];
  if (r.skipped.length === 0) return [...lines, 'None: every file under the data folder was scored by every model.'];
  const byReason = new Map<string, number>();
  for (const s of r.skipped) {
    const key = s.reason.replace(/\(empty cell in .*\)/, '(empty cell)').replace(/line \d+/g, 'line …');
    byReason.set(key, (byReason.get(key) ?? 0) + 1);
  }
  return [...lines, '| reason | files |', '|---|---|', ...[...byReason].map(([reason, n]) => `| ${reason} | ${n} |`), '', '| file | reason |', '|---|---|',
    ...r.skipped.map((s) => `| \`${s.id}\` | ${s.reason.replace(/\|/g, '\\|')} |`)];
}
