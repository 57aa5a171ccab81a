/**
 * The result path of an image study on a real `lantern start` (one worker), stage by stage:
 * RG1 uploads one at a time on an idle stack (the bench's end-to-end figure,
 * benchmarks/figures/stack-figures.ts), printing p50 / p95 of the stages after session.run —
 * postprocess, the worker's blob read + hand back, result pickup, persist — and the total, as
 * one JSON line, so two checkouts can be run in turn and compared (arms alternating). With
 * PRELOAD=$PWD/tools/hot-path/count-queries.cjs the API's statements of the measured studies
 * (shape, count, mean round trip) are written into $QUERY_COUNT_DIR.
 *
 *   npx tsx tools/hot-path/result-path.ts [studies=20] [label]
 */
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { studyCopies } from '../../benchmarks/figures/pipeline.ts';
import { measureEndToEnd, modelKeyOf } from '../../benchmarks/figures/stack-figures.ts';
import { files } from '../../test/support/shared-data.ts';
import { startStack } from '../../test/support/stack.ts';

const studies = Number(process.argv[2] ?? 20);
const label = process.argv[3] ?? '';
const countingQueries = process.env.PRELOAD?.includes('count-queries');
const extra = process.env.PRELOAD ? { NODE_OPTIONS: `--require ${process.env.PRELOAD}` } : {};
const stack = await startStack({ workers: 1, env: { LANTERN_RATE_LIMIT: '0', ...extra } });
try {
  const modelKey = await modelKeyOf(stack.baseUrl);
  await measureEndToEnd(stack, studyCopies(files.chestJ2k, 5, 80_000 + Math.floor(Math.random() * 1000) * 100), modelKey);
  if (countingQueries) { process.kill(stack.process.pid!, 'SIGUSR2'); await sleep(300); }
  const loads = [os.loadavg()[0]];
  const e2e = await measureEndToEnd(stack, studyCopies(files.chestJ2k, studies, 200_000 + Math.floor(Math.random() * 1000) * 100), modelKey);
  loads.push(os.loadavg()[0]);
  if (countingQueries) { process.kill(stack.process.pid!, 'SIGUSR2'); await sleep(300); }
  const pick = ['postprocess', 'worker: blob read, hand back', 'result pickup', 'persist', 'delivery'];
  const stages = Object.fromEntries(pick.map((k) => [k, [e2e.stages[k]?.p50, e2e.stages[k]?.p95]]));
  console.log(JSON.stringify({ label, studies, total: [e2e.total.p50, e2e.total.p95], ...stages, load: loads.map((l) => l.toFixed(2)).join('–') }));
} finally {
  await stack.stop();
}
