/**
 * `npm run bench:worker-sizing`: how to spend this machine's cores on the image path —
 * worker processes (LANTERN_WORKERS) × onnxruntime intra-op threads (LANTERN_ORT_THREADS) ×
 * libvips threads (LANTERN_VIPS_THREADS) — measured with the whole pipeline: a real
 * `lantern start` per configuration, a lone study at a time on an idle queue (upload →
 * finding persisted) and images/s with every study uploaded at once. The configurations
 * take turns, a chunk each per round, the order reversed every other round, so the load
 * of this shared machine's neighbours falls on all of them; the load average is recorded
 * per chunk.
 *
 *   npm run bench:worker-sizing                          ~10 min on 2 cores
 *   npm run bench:worker-sizing -- --rounds 2 --saturation 8 --lone 3
 *
 * Writes worker-sizing.json and worker-sizing.md to benchmarks/results/<date>/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../config.ts';
import { files } from '../test/support/shared-data.ts';
import { startStack } from '../test/support/stack.ts';
import { studyCopies } from './figures/pipeline.ts';
import { measureEndToEnd, measureSaturation, modelKeyOf } from './figures/stack-figures.ts';
import { summarise, type Summary } from './stats.ts';

interface Sizing {
  workers: number;
  ortThreads: number;
  vipsThreads: number;
}

/** On 2 cores: one single-threaded worker per core (today's default), one worker with both cores, and the mixes between. */
const SIZINGS: Sizing[] = [
  { workers: 2, ortThreads: 1, vipsThreads: 1 },
  { workers: 1, ortThreads: 2, vipsThreads: 2 },
  { workers: 1, ortThreads: 2, vipsThreads: 1 },
  { workers: 1, ortThreads: 1, vipsThreads: 1 },
  { workers: 2, ortThreads: 2, vipsThreads: 2 },
];

const label = (s: Sizing) => `${s.workers} worker${s.workers > 1 ? 's' : ''} × ${s.ortThreads} ort × ${s.vipsThreads} vips`;

interface Chunk {
  round: number;
  lone: number[];
  imagesPerSecond: number;
  loadAverage: number[];
}

export async function measureWorkerSizing(options: { rounds: number; saturation: number; lone: number; study: string }) {
  const chunks = new Map<Sizing, Chunk[]>(SIZINGS.map((s) => [s, []]));
  let offset = 1;
  for (let round = 0; round < options.rounds; round++) {
    const order = round % 2 ? [...SIZINGS].reverse() : SIZINGS;
    for (const sizing of order) {
      process.stderr.write(`worker sizing: round ${round + 1}/${options.rounds}, ${label(sizing)}\n`);
      const stack = await startStack({
        workers: sizing.workers,
        env: { LANTERN_RATE_LIMIT: '0', LANTERN_ORT_THREADS: String(sizing.ortThreads), LANTERN_VIPS_THREADS: String(sizing.vipsThreads) },
      });
      try {
        const modelKey = await modelKeyOf(stack.baseUrl);
        // Saturation first: it warms every worker (a fresh worker's first study compiles the codec), untimed.
        const saturation = await measureSaturation(stack, studyCopies(options.study, sizing.workers + options.saturation, offset), modelKey, sizing.workers);
        offset += sizing.workers + options.saturation;
        const lone = await measureEndToEnd(stack, studyCopies(options.study, options.lone, offset), modelKey);
        offset += options.lone;
        chunks.get(sizing)!.push({ round, lone: lone.samples.total, imagesPerSecond: saturation.imagesPerSecond, loadAverage: os.loadavg() });
      } finally {
        await stack.stop();
      }
    }
  }
  const results = SIZINGS.map((sizing) => {
    const mine = chunks.get(sizing)!;
    const perRound = mine.map((c) => c.imagesPerSecond);
    return { ...sizing, label: label(sizing), loneMs: summarise(mine.flatMap((c) => c.lone)), imagesPerSecond: summarise(perRound), chunks: mine };
  });
  return { rounds: options.rounds, saturationStudies: options.saturation, loneStudies: options.lone, study: path.relative(repoRoot, options.study), cores: os.availableParallelism(), results };
}

type WorkerSizing = Awaited<ReturnType<typeof measureWorkerSizing>>;

export function sizingMarkdown(report: WorkerSizing & { command: string }): string {
  const ms = (s: Summary) => `${s.p50.toFixed(0)} / ${s.p95.toFixed(0)}`;
  const loads = report.results.flatMap((r) => r.chunks.map((c) => c.loadAverage[0]));
  return [
    `# Worker sizing on ${report.cores} cores: \`${report.study}\``,
    '',
    `\`${report.command}\`. Each configuration is a real \`lantern start\`; ${report.rounds} rounds, configurations alternating (order reversed every other round). Per chunk: one untimed study per worker, ${report.saturationStudies} studies queued before the workers may take them (images/s from their release), then ${report.loneStudies} lone studies one at a time. 1-min load average at the chunks' ends: ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} (shared machine).`,
    '',
    '| workers × ort threads × vips threads | lone study p50 / p95 (ms) | images/s at saturation, median of rounds (min–max) |',
    '|---|---|---|',
    ...report.results.map((r) => `| ${r.label} | ${ms(r.loneMs)} | ${r.imagesPerSecond.p50.toFixed(2)} (${r.imagesPerSecond.min.toFixed(2)}–${r.imagesPerSecond.max.toFixed(2)}) |`),
    '',
  ].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(repoRoot, 'benchmarks', 'worker-sizing.ts')) {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, saturation: { type: 'string', default: '12' }, lone: { type: 'string', default: '5' }, out: { type: 'string' }, study: { type: 'string' } } });
  const out = values.out ?? path.join(repoRoot, 'benchmarks', 'results', new Date().toISOString().slice(0, 10));
  const measured = await measureWorkerSizing({ rounds: Number(values.rounds), saturation: Number(values.saturation), lone: Number(values.lone), study: values.study ?? files.chestJ2k });
  const report = { command: ['npm run bench:worker-sizing --', ...process.argv.slice(2)].join(' '), ...measured };
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'worker-sizing.json'), `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(path.join(out, 'worker-sizing.md'), sizingMarkdown(report));
  console.log(`\n${sizingMarkdown(report)}\nreport: ${path.relative(process.cwd(), out)}/worker-sizing.md`);
}
