/**
 * `npm run eval -- <modelId> [--data <dir>] [--models <dir>] [--out <dir>] [--by <column> ...] [--aim <AUROC>]`
 *
 * Re-computes a model's card metrics from the dataset its card's `evaluation` names
 * (paths relative to `--data`, default `<repo>/../shared/data`) and writes
 * `models/<id>/evaluation/report.{md,json}`, `report-roc.svg` and `report-calibration.svg`.
 * For read-assist models the report also has per-patient metrics and patient-clustered CIs
 * (when the dataset names patients), the refer-band and not-applicable shares, breakdowns
 * and metadata-only baselines by the dataset's other columns (`--by` to choose), and a
 * one-line verdict (held against `--aim`, default the evaluation object's `aim`).
 * Exit code 1 when a card metric drifted beyond its tolerance or could not be recomputed.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../../config.ts';
import { findModelFolder } from '../../inference/registry.ts';
import { evaluateModel } from './evaluate.ts';
import { writeReport } from './report.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    data: { type: 'string', default: path.join(repoRoot, '..', 'shared', 'data') },
    models: { type: 'string', default: path.join(repoRoot, 'models') },
    out: { type: 'string' },
    by: { type: 'string', multiple: true },
    aim: { type: 'string' },
  },
});

const aim = values.aim === undefined ? undefined : Number(values.aim);
if (positionals.length !== 1 || (aim !== undefined && !(aim > 0.5 && aim <= 1))) {
  console.error('usage: npm run eval -- <modelId> [--data <shared data dir>] [--models <models dir>] [--out <report dir>] [--by <column> ...] [--aim <AUROC in (0.5, 1]>]');
  process.exit(2);
}

const id = positionals[0];
const dir = findModelDir(values.models!, id);
const started = Date.now();
const log = (m: string) => console.log(`[eval ${id}] ${((Date.now() - started) / 1000).toFixed(1)}s ${m}`);

try {
  const report = await evaluateModel(dir, { dataRoot: values.data!, threads: 1, onProgress: log, ...(values.by ? { by: values.by } : {}), ...(aim !== undefined ? { aim } : {}) });
  const files = writeReport(report, values.out ?? path.join(dir, 'evaluation'));
  const auc = report.auroc;
  log(`AUROC ${auc.value.toFixed(4)} (95% CI ${auc.ci95[0].toFixed(4)}–${auc.ci95[1].toFixed(4)}), ECE ${report.calibration.ece.toFixed(4)}, Brier ${report.calibration.brier.toFixed(4)}, n=${report.dataset.n}`);
  if (report.patients) log(`AUROC per patient ${report.patients.auroc.value.toFixed(4)} (95% CI ${report.patients.auroc.ci95[0].toFixed(4)}–${report.patients.auroc.ci95[1].toFixed(4)}), n=${report.patients.n} patients`);
  if (report.analysis) log(`verdict: ${report.model.id} ${report.analysis.verdict}`);
  for (const c of report.comparison) {
    log(`  ${c.status.padEnd(14)} ${c.name}: card ${c.card}, recomputed ${c.recomputed?.toFixed(4) ?? '–'}${c.tolerance !== undefined ? ` (±${c.tolerance})` : ''}`);
  }
  for (const f of files) log(`wrote ${path.relative(process.cwd(), f)}`);
  const bad = report.comparison.filter((c) => c.status !== 'ok');
  if (report.comparison.length === 0) {
    log(`the card has no metrics on split "${report.spec.metricsSplit}": nothing to compare`);
    process.exitCode = 1;
  } else if (bad.length > 0) {
    log(`${bad.length} card metric(s) do not match: ${bad.map((b) => `${b.name} (${b.status})`).join(', ')}`);
    process.exitCode = 1;
  } else log(`all ${report.comparison.length} card metrics within tolerance`);
} catch (error) {
  console.error(`[eval ${id}] failed: ${(error as Error).message}`);
  process.exitCode = 1;
}

/** The folder is usually named after the id; otherwise the card whose `id` matches. */
function findModelDir(modelsDir: string, modelId: string): string {
  const dir = findModelFolder(modelsDir, modelId);
  if (dir) return dir;
  console.error(`no model folder with id "${modelId}" under ${modelsDir}`);
  process.exit(2);
}
