/**
 * `npm run eval:surveillance [-- --quick] [--replicates N] [--seed N] [--out <dir>]`
 *
 * Evaluates the surveillance detectors on synthetic outbreaks injected into synthetic background
 * counts (evaluate.ts) and writes `report.md`, `sensitivity.svg`, `false-alerts.svg`,
 * `example.svg` and `results.json` to `tools/surveillance/results/<date>/` (`--quick`: a 12-replicate
 * smoke run written under the system's temp folder unless `--out` is given). Prints the summary
 * table: method × outbreak size → sensitivity, false alerts per site-month, days to detection.
 * Then the same question for counts against rates (rates.ts), on half as many replicates.
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { progressBar } from '../../benchmarks/progress.ts';
import { repoRoot } from '../../config.ts';
import { evaluateSurveillance } from './evaluate.ts';
import { evaluateRates } from './rates.ts';
import { summaryTable, writeReport } from './report.ts';

const FULL_REPLICATES = 200;
const QUICK_REPLICATES = 12;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    replicates: { type: 'string' },
    seed: { type: 'string', default: '20261203' },
    out: { type: 'string' },
  },
});
const replicates = Number(values.replicates ?? (values.quick ? QUICK_REPLICATES : FULL_REPLICATES));
const seed = Number(values.seed);
if (!Number.isInteger(replicates) || replicates < 1 || replicates > 10_000 || !Number.isInteger(seed)) {
  console.error('usage: npm run eval:surveillance -- [--quick] [--replicates 1–10000] [--seed <integer>] [--out <dir>]');
  process.exit(2);
}

const date = new Date().toISOString().slice(0, 10);
const out = values.out ?? (values.quick ? path.join(os.tmpdir(), 'lantern-surveillance-quick') : path.join(repoRoot, 'tools', 'surveillance', 'results', date));
const started = Date.now();
console.log(`[eval:surveillance] ${replicates} replicates, seed ${seed}: 20 sites × 730 days each, 6 method variants, single- and multi-site outbreaks`);
const bar = progressBar('[eval:surveillance] replicates', replicates);
const result = evaluateSurveillance({ replicates, seed, onProgress: (done) => bar.tick(done) });
bar.done();
console.log(`[eval:surveillance] counts or rates: ${Math.ceil(replicates / 2)} replicates of the network with films as the denominator`);
result.rates = evaluateRates({ replicates: Math.ceil(replicates / 2), seed, sizes: result.options.sizes });
const seconds = (Date.now() - started) / 1000;
const command = `npm run eval:surveillance${values.quick ? ' -- --quick' : ''}${values.replicates ? ` --replicates ${replicates}` : ''}${values.seed !== '20261203' ? ` --seed ${seed}` : ''}`;
const files = writeReport(result, out, { command, seconds, date });
console.log('');
console.log(summaryTable(result).join('\n'));
console.log('');
console.log('Synthetic data only: no claim beyond this simulation.');
for (const f of files) console.log(`[eval:surveillance] wrote ${path.relative(process.cwd(), f)}`);
console.log(`[eval:surveillance] ${seconds.toFixed(1)} s`);
