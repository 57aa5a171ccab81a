/**
 * The worker pool at saturation under `lantern start`s that differ only in their environment: per
 * round, each arm (order rotated every round) starts a stack with one worker per core, runs the
 * bench's saturation measurement (benchmarks/figures/stack-figures.ts measureSaturation: studies
 * queued, released, timed until every job is done) and stops it. Prints images/s and the API's
 * event-loop lag (p99, max) per round, and each arm's medians. Arms as in upload-ab.ts.
 *
 *   npx tsx tools/hot-path/saturation-arms.mts [rounds=2] [studies=150] [name:KEY=VALUE,… …]
 *   npx tsx tools/hot-path/saturation-arms.mts 2 150 t1:LANTERN_DECODE_THREADS=1
 */
import os from 'node:os';
import { studyCopies } from '../../benchmarks/figures/pipeline.ts';
import { measureSaturation, modelKeyOf } from '../../benchmarks/figures/stack-figures.ts';
import { summarise } from '../../benchmarks/stats.ts';
import { files } from '../../test/support/shared-data.ts';
import { startStack } from '../../test/support/stack.ts';
import { armsFromArgs } from './arms.ts';

const [rounds = 2, studies = 150] = process.argv.slice(2, 4).map(Number);
const arms = armsFromArgs(process.argv.slice(4));
const workers = os.availableParallelism();
const results = new Map<string, { imagesPerSecond: number[]; p99: number[]; max: number[] }>(arms.map(([name]) => [name, { imagesPerSecond: [], p99: [], max: [] }]));
console.log(`\`npx tsx tools/hot-path/saturation-arms.mts ${process.argv.slice(2).join(' ')}\`: ${workers} workers, ${studies} studies a run, 1-min load average ${os.loadavg()[0].toFixed(1)} at the start`);
console.log('| round | arm | images/s | event-loop p99 (ms) | max (ms) |');
console.log('|---|---|---|---|---|');
// Fresh UIDs far from the ones the bench and the tests derive (small offsets), which a stack may hold already.
let offset = 1_000_000;
for (let round = 0; round < rounds; round++) {
  for (let i = 0; i < arms.length; i++) {
    const [name, env] = arms[(i + round) % arms.length];
    const stack = await startStack({ workers, env: { LANTERN_RATE_LIMIT: '0', ...env } });
    try {
      const saturation = await measureSaturation(stack, studyCopies(files.chestJ2k, workers + studies, offset), await modelKeyOf(stack.baseUrl), workers);
      offset += workers + studies;
      const result = results.get(name)!;
      result.imagesPerSecond.push(saturation.imagesPerSecond);
      result.p99.push(saturation.eventLoop.p99Ms);
      result.max.push(saturation.eventLoop.maxMs);
      console.log(`| ${round + 1} | ${name} | ${saturation.imagesPerSecond.toFixed(1)} | ${saturation.eventLoop.p99Ms} | ${saturation.eventLoop.maxMs} |`);
    } finally {
      await stack.stop();
    }
  }
}
for (const [name, r] of results) {
  console.log(`| median | ${name} | ${summarise(r.imagesPerSecond).p50.toFixed(1)} | ${summarise(r.p99).p50} | ${summarise(r.max).p50} |`);
}
console.log(`1-min load average ${os.loadavg()[0].toFixed(1)} at the end`);
