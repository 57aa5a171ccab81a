/**
 * Where a study's CPU goes, per process of a real `lantern start`: RG1 studies end to end one
 * at a time (idle queue), then a saturation run (queue held, released), each with the CPU
 * every process used (/proc/<pid>/stat, 10 ms ticks; the test stack's redis-server too) divided by
 * the studies, and the same from the queue's release only (the window the bench's pool figure times).
 * The release and the end are printed in monotonic µs, the clock of a .cpuprofile's samples. PRELOAD names a
 * script every process of the stack preloads: tools/hot-path/count-queries.cjs (whose counts
 * are cut at each phase: only the idle phase's are written) or cpu-profile.cjs. STACK_MODELS_DIR
 * serves another models folder (LANTERN_MODELS_DIR), e.g. one without the children's model.
 *
 *   npx tsx tools/hot-path/cpu-split.mts [studies=30] [workers=2]
 *   PRELOAD=$PWD/tools/hot-path/count-queries.cjs QUERY_COUNT_DIR=/tmp/q npx tsx tools/hot-path/cpu-split.mts 30 1
 */
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { studyCopies } from '../../benchmarks/figures/pipeline.ts';
import { measureEndToEnd, measureSaturation, modelKeyOf } from '../../benchmarks/figures/stack-figures.ts';
import { files } from '../../test/support/shared-data.ts';
import { startStack } from '../../test/support/stack.ts';
import { cpuMs, stackProcesses } from '../../benchmarks/process-cpu.ts';

const studies = Number(process.argv[2] ?? 30);
const workers = Number(process.argv[3] ?? 2);
const countingQueries = process.env.PRELOAD?.includes('count-queries');
const extra = process.env.PRELOAD ? { NODE_OPTIONS: `--require ${process.env.PRELOAD}` } : {};
const models = process.env.STACK_MODELS_DIR ? { LANTERN_MODELS_DIR: process.env.STACK_MODELS_DIR } : {};
const stack = await startStack({ workers, env: { LANTERN_RATE_LIMIT: '0', ...extra, ...models } });
// Listed once the warm-up study has run: by then every worker has started its sidecar.
let processes: Record<string, number> = {};
const ticks = () => cpuMs(processes);
const report = (label: string, before: Record<string, number>, n: number, seconds: number) => {
  const after = ticks();
  const rows = Object.keys(processes).map((r) => `${r} ${((after[r] - before[r]) / n).toFixed(1)}`);
  const total = Object.keys(processes).reduce((s, r) => s + after[r] - before[r], 0) / n;
  console.log(`${label}: CPU ms per study — ${rows.join(' · ')} · total ${total.toFixed(1)} (wall ${(seconds * 1000 / n).toFixed(1)} ms per study, load ${os.loadavg()[0].toFixed(1)})`);
};
try {
  const modelKey = await modelKeyOf(stack.baseUrl);
  await measureEndToEnd(stack, studyCopies(files.chestJ2k, 3, 90_000), modelKey);
  processes = stackProcesses(stack.process.pid!, stack.testRedis?.port);
  console.log('processes', processes);
  if (countingQueries) { process.kill(stack.process.pid!, 'SIGUSR2'); await sleep(300); }
  let before = ticks();
  let t = performance.now();
  const e2e = await measureEndToEnd(stack, studyCopies(files.chestJ2k, studies, 91_000), modelKey);
  report('idle, one at a time', before, studies, (performance.now() - t) / 1000);
  console.log('  e2e p50', e2e.total.p50, 'p95', e2e.total.p95, Object.entries(e2e.stages).map(([k, v]) => `${k} ${v.p50}`).join(' · '));
  if (countingQueries) { process.kill(stack.process.pid!, 'SIGUSR2'); await sleep(300); }
  before = ticks();
  t = performance.now();
  let atRelease = before;
  let released = 0;
  const sat = await measureSaturation(stack, studyCopies(files.chestJ2k, workers + studies * 2, 92_000), modelKey, workers, () => { atRelease = ticks(); released = performance.now(); console.log('released at monotonic µs', process.hrtime.bigint() / 1000n); });
  report('saturation (uploads included)', before, studies * 2 + workers, (performance.now() - t) / 1000);
  console.log('window ends at monotonic µs', process.hrtime.bigint() / 1000n);
  report('saturation, from the release (the pool figure\'s window)', atRelease, studies * 2, (performance.now() - released) / 1000);
  console.log('  saturation img/s', sat.imagesPerSecond.toFixed(2));
} finally {
  await stack.stop();
}
