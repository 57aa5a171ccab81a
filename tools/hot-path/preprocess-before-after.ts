/**
 * The preprocess stage before and after issue 16 on RG1_J2KI (1841 × 1955, 15-bit, decoded
 * at full resolution once): the oracle (today's float path, test/support/reference-preprocess.ts)
 * against the served grey-square@1 chain (integer tables, crop region only), at the adult
 * model's 224 px and the 28 px model's size. The arms alternate in one process (which goes
 * first flips every round), libvips on one thread as in a worker.
 *
 *   npx tsx tools/hot-path/preprocess-before-after.ts [rounds=40] [outDir=benchmarks/results/<today>]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { summarise, ratio } from '../../benchmarks/stats.ts';
import { repoRoot } from '../../config.ts';
import { decodeFrame } from '../../dicom/decode/index.ts';
import { parseDicom, requirePixelData } from '../../dicom/parse.ts';
import { namedChain } from '../../inference/preprocess/index.ts';
import { referenceGreySquare } from '../../test/support/reference-preprocess.ts';
import { files } from '../../test/support/shared-data.ts';

const rounds = Number(process.argv[2] ?? 40);
const outDir = process.argv[3] ?? path.join(repoRoot, 'benchmarks/results', new Date().toISOString().slice(0, 10));
sharp.concurrency(1);

const instance = parseDicom(new Uint8Array(fs.readFileSync(files.chestJ2k)));
const image = requirePixelData(instance);
const frame = await decodeFrame(instance, 0);
const timed = async (run: () => Promise<unknown>) => {
  const start = performance.now();
  await run();
  return performance.now() - start;
};

const results = [];
for (const size of [224, 28]) {
  const arms = {
    oracle: () => referenceGreySquare(frame, image, [size, size]),
    integer: () => namedChain('grey-square@1', [size, size]).run(frame, image),
  };
  for (const arm of Object.values(arms)) await arm();
  const samples: Record<keyof typeof arms, number[]> = { oracle: [], integer: [] };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 ? (['integer', 'oracle'] as const) : (['oracle', 'integer'] as const);
    for (const name of order) samples[name].push(await timed(arms[name]));
  }
  const oracle = summarise(samples.oracle);
  const integer = summarise(samples.integer);
  results.push({ size, oracle, integer, p50Ratio: ratio(integer.p50, oracle.p50), p95Ratio: ratio(integer.p95, oracle.p95) });
}

const machine = { cpus: os.cpus().length, loadAverage1m: Math.round(os.loadavg()[0] * 100) / 100 };
const command = `npx tsx tools/hot-path/preprocess-before-after.ts ${rounds}`;
const lines = [
  '# Preprocess before and after issue 16: RG1_J2KI at full-resolution decode',
  '',
  `Frame ${frame.columns} × ${frame.rows}, ${image.bitsStored}-bit ${image.photometricInterpretation}; ${rounds} rounds per size, arms alternating in one process, libvips on one thread. ${machine.cpus} CPUs, 1-min load average ${machine.loadAverage1m} at the end (shared machine).`,
  '',
  '| model size | oracle (float path) p50 / p95 ms | integer path p50 / p95 ms | ratio p50 / p95 |',
  '|---|---|---|---|',
  ...results.map((r) => `| ${r.size} | ${r.oracle.p50.toFixed(1)} / ${r.oracle.p95.toFixed(1)} | ${r.integer.p50.toFixed(1)} / ${r.integer.p95.toFixed(1)} | ${r.p50Ratio} / ${r.p95Ratio} |`),
  '',
  `Command: \`${command}\``,
  '',
];
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'preprocess-integer.md'), lines.join('\n'));
fs.writeFileSync(path.join(outDir, 'preprocess-integer.json'), `${JSON.stringify({ command, machine, rounds, frame: { columns: frame.columns, rows: frame.rows }, results }, null, 2)}\n`);
console.log(lines.join('\n'));
