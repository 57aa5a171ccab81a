/**
 * `npm run bench:model -- --model <idA> [--model <idB> ...] --data <folder | shared:<split>>
 *   [--labels <csv>] [--patient-column <column>] [--by <column> ...] [--aim <AUROC>]
 *   [--positive <class>] [--negative <class>] [--label <card label>] [--image-prep served|display]
 *   [--out <dir>] [--models <dir>] [--shared <dir>] [--threads <n>]`
 *
 * Scores every image under --data with each model (DICOM through the served readAssist
 * path; PNG/JPEG through the card's own preprocessing step by default, `--image-prep
 * display` for pixel/255 as the thumbnail splits are fed) and writes report.md,
 * report.json, ROC (with the per-patient curve when the labels name patients) and
 * calibration plots per model and a latency histogram to --out (default
 * benchmarks/results/model-bench/<yyyy-mm-dd>). Per model the report adds patient-clustered
 * CIs and per-patient metrics (`--patient-column`, default `patient_id` when the CSV has
 * it), the refer-band and not-applicable shares, breakdowns and metadata-only baselines by
 * the CSV's other columns (`--by` to choose), and a verdict. See benchmarks/README.md.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../../config.ts';
import { NAMED_SPLITS } from './load.ts';
import { formatTable, sideBySide } from './render.ts';
import { runModelBench } from './run.ts';

const usage = `usage: npm run bench:model -- --model <id> [--model <id> ...] --data <folder | shared:<split>> [--labels <csv>] [--patient-column <column>] [--by <column> ...] [--aim <AUROC>] [--positive <class>] [--negative <class>] [--label <card label>] [--image-prep served|display] [--out <dir>] [--models <dir>] [--shared <dir>] [--threads <n>]
  splits: ${Object.keys(NAMED_SPLITS).map((k) => `shared:${k}`).join(', ')}`;

let values;
try {
  ({ values } = parseArgs({
    options: {
      model: { type: 'string', multiple: true, default: [] },
      data: { type: 'string' },
      labels: { type: 'string' },
      'patient-column': { type: 'string' },
      by: { type: 'string', multiple: true },
      aim: { type: 'string' },
      'image-prep': { type: 'string' },
      positive: { type: 'string' },
      negative: { type: 'string' },
      label: { type: 'string' },
      out: { type: 'string', default: path.join(repoRoot, 'benchmarks', 'results', 'model-bench', new Date().toISOString().slice(0, 10)) },
      models: { type: 'string', default: path.join(repoRoot, 'models') },
      shared: { type: 'string', default: path.join(repoRoot, '..', 'shared', 'data') },
      threads: { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (error) {
  console.error(`${(error as Error).message}\n${usage}`);
  process.exit(2);
}

if (values.help || values.model.length === 0 || !values.data) {
  console.error(usage);
  process.exit(values.help ? 0 : 2);
}
const threads = Number(values.threads);
if (!Number.isInteger(threads) || threads < 1) {
  console.error(`--threads must be a positive integer (got ${values.threads})`);
  process.exit(2);
}
const aim = values.aim === undefined ? undefined : Number(values.aim);
if (aim !== undefined && !(aim > 0.5 && aim <= 1)) {
  console.error(`--aim is an AUROC in (0.5, 1] (got ${values.aim})`);
  process.exit(2);
}
const imagePrep = values['image-prep'];
if (imagePrep !== undefined && imagePrep !== 'served' && imagePrep !== 'display') {
  console.error(`--image-prep is served or display (got ${imagePrep})`);
  process.exit(2);
}

try {
  const { report, files } = await runModelBench({
    models: values.model,
    data: values.data,
    labels: values.labels,
    ...(values['patient-column'] ? { patientColumn: values['patient-column'] } : {}),
    ...(values.by ? { by: values.by } : {}),
    ...(aim !== undefined ? { aim } : {}),
    ...(imagePrep ? { imagePrep } : {}),
    positive: values.positive,
    negative: values.negative,
    label: values.label,
    sharedRoot: values.shared,
    modelsDir: values.models,
    threads,
    out: values.out,
    progress: true,
    command: `npm run bench:model -- ${process.argv.slice(2).join(' ')}`,
  });
  console.log(`\n${report.dataset.source}: ${report.dataset.n} images scored by every model (${report.dataset.positives} positive), ${report.skipped.length} skipped; labels from ${report.dataset.labelSource}\n`);
  console.log(formatTable(sideBySide(report)));
  console.log('');
  for (const m of report.models) console.log(`verdict ${m.id}: ${m.analysis.verdict}`);
  for (const p of report.paths) console.log(`\n- ${p}`);
  if (report.skipped.length > 0) {
    console.log(`\nskipped ${report.skipped.length}:`);
    for (const s of report.skipped.slice(0, 10)) console.log(`  ${s.id}: ${s.reason}`);
    if (report.skipped.length > 10) console.log(`  … and ${report.skipped.length - 10} more in report.md`);
  }
  console.log(`\nwrote ${files.map((f) => path.relative(process.cwd(), f)).join(', ')}`);
} catch (error) {
  console.error(`bench:model failed: ${(error as Error).name}: ${(error as Error).message}`);
  process.exitCode = 1;
}
