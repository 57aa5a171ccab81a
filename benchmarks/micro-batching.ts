/**
 * `npm run bench:batching`: does batching several images into one `session.run` of the
 * served model raise images/s on this CPU, and what does it cost the study that waits for
 * the batch? The model's session alone (one real film preprocessed once and repeated in
 * the batch), batch 1, 2, 4 and 8, with 1 and 2 onnxruntime intra-op threads; every
 * (threads, batch) arm runs a chunk in turn, round after round, so the neighbours' load on
 * this shared machine hits every arm alike. benchmarks/README.md ("what was tuned") keeps
 * the numbers and the decision.
 *
 *   npm run bench:batching                       ~2 min
 *   npm run bench:batching -- --rounds 3 --out /tmp/batching
 *
 * Writes micro-batching.json and micro-batching.md to benchmarks/results/<date>/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { repoRoot } from '../config.ts';
import { decodeFrame } from '../dicom/decode/index.ts';
import { parseDicom, requirePixelData } from '../dicom/parse.ts';
import { loadModel, type ReadAssistModel } from '../inference/registry.ts';
import { files } from '../test/support/shared-data.ts';
import { MODEL_ID } from './figures/pipeline.ts';
import { progressBar } from './progress.ts';
import { ratio, summarise, type Summary } from './stats.ts';

const BATCHES = [1, 2, 4, 8];
const THREADS = [1, 2];

interface Arm {
  threads: number;
  batch: number;
  /** Milliseconds per session.run of the whole batch. */
  runMs: number[];
}

interface ArmResult {
  threads: number;
  batch: number;
  runMs: Summary;
  /** batch ÷ median run time. */
  imagesPerSecond: number;
  /** This arm's images/s ÷ batch 1's at the same thread count. */
  speedup: number;
  /** What the first study of a batch waits beyond running alone: median run time at this batch − at batch 1. */
  extraLatencyMs: number;
}

export async function measureMicroBatching(options: { rounds: number; runsPerChunk: number; study: string }) {
  // One libvips thread, as a worker has: the film is preprocessed once, outside every timing.
  sharp.concurrency(1);
  const models = new Map<number, ReadAssistModel>();
  for (const threads of THREADS) models.set(threads, await loadModel(path.join(repoRoot, 'models', MODEL_ID), { threads }) as ReadAssistModel);
  const first = models.get(THREADS[0])!;
  const instance = parseDicom(new Uint8Array(fs.readFileSync(options.study)));
  const input = await first.chain.run(await decodeFrame(instance, 0), requirePixelData(instance));
  const [spec] = first.card.inputs;
  const feeds = (batch: number) => {
    const data = new Float32Array(input.data.length * batch);
    for (let i = 0; i < batch; i++) data.set(input.data as Float32Array, i * input.data.length);
    return { [spec.name]: new ort.Tensor('float32', data, [batch, input.channels, input.height, input.width]) };
  };
  const arms: Arm[] = THREADS.flatMap((threads) => BATCHES.map((batch) => ({ threads, batch, runMs: [] })));
  const bar = progressBar('micro-batching (session.run)', options.rounds * arms.length);
  const loadBefore = os.loadavg();
  for (let round = 0; round < options.rounds; round++) {
    for (const [i, arm] of arms.entries()) {
      const { session } = models.get(arm.threads)!;
      const batchFeeds = feeds(arm.batch);
      await session.run(batchFeeds); // warm: the first run at a new shape plans its buffers
      for (let run = 0; run < options.runsPerChunk; run++) {
        const start = performance.now();
        await session.run(batchFeeds);
        arm.runMs.push(performance.now() - start);
      }
      bar.tick(round * arms.length + i + 1);
    }
  }
  bar.done();
  for (const model of models.values()) await model.session.release();
  const results: ArmResult[] = arms.map((arm) => {
    const runMs = summarise(arm.runMs);
    const single = summarise(arms.find((a) => a.threads === arm.threads && a.batch === 1)!.runMs);
    return {
      threads: arm.threads,
      batch: arm.batch,
      runMs,
      imagesPerSecond: ratio(arm.batch * 1000, runMs.p50),
      speedup: ratio(arm.batch * single.p50, runMs.p50),
      extraLatencyMs: Math.round((runMs.p50 - single.p50) * 10) / 10,
    };
  });
  return { model: first.key, input: [spec.name, input.channels, input.height, input.width], rounds: options.rounds, runsPerChunk: options.runsPerChunk, loadAverage: { before: loadBefore, after: os.loadavg() }, results };
}

type Batching = Awaited<ReturnType<typeof measureMicroBatching>>;

export function batchingMarkdown(report: Batching & { command: string }): string {
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  return [
    `# Micro-batching: \`${report.model}\` session.run alone`,
    '',
    `\`${report.command}\`. Machine: ${os.cpus()[0]?.model}, ${os.availableParallelism()} cores (shared). ${report.rounds} rounds × ${report.runsPerChunk} runs per arm, arms alternating; load average before ${load(report.loadAverage.before)}, after ${load(report.loadAverage.after)}.`,
    '',
    '| intra-op threads | batch | run p50 (ms) | run p95 (ms) | images/s | ÷ batch 1 | first study waits extra (ms) |',
    '|---|---|---|---|---|---|---|',
    ...report.results.map((r) => `| ${r.threads} | ${r.batch} | ${r.runMs.p50.toFixed(1)} | ${r.runMs.p95.toFixed(1)} | ${r.imagesPerSecond} | ${r.speedup} | ${r.extraLatencyMs} |`),
    '',
  ].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(repoRoot, 'benchmarks', 'micro-batching.ts')) {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '6' }, runs: { type: 'string', default: '8' }, out: { type: 'string' }, study: { type: 'string' } } });
  const out = values.out ?? path.join(repoRoot, 'benchmarks', 'results', new Date().toISOString().slice(0, 10));
  const measured = await measureMicroBatching({ rounds: Number(values.rounds), runsPerChunk: Number(values.runs), study: values.study ?? files.chestJ2k });
  const report = { command: ['npm run bench:batching --', ...process.argv.slice(2)].join(' '), ...measured };
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'micro-batching.json'), `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(path.join(out, 'micro-batching.md'), batchingMarkdown(report));
  console.log(`\n${batchingMarkdown(report)}\nreport: ${path.relative(process.cwd(), out)}/micro-batching.md`);
}
