/**
 * Upload → queued and upload → finding persisted for RG1_J2KI, `lantern start`s side by side
 * (one worker each, idle queue) that differ only in their environment, their uploads
 * alternating in chunks (order rotated every round) so all see the same neighbours. Each chunk
 * is the bench's own end-to-end measurement (benchmarks/figures/stack-figures.ts
 * measureEndToEnd), so the stages are the bench's. One warm-up chunk per arm is left out.
 * The first arm is the default environment; each further one is `name:KEY=VALUE,KEY=VALUE`.
 *
 *   npx tsx tools/hot-path/upload-ab.ts [rounds=8] [chunk=5] [name:KEY=VALUE,… …]
 */
import os from 'node:os';
import { studyCopies } from '../../benchmarks/figures/pipeline.ts';
import { measureEndToEnd, modelKeyOf } from '../../benchmarks/figures/stack-figures.ts';
import { ratio, summarise } from '../../benchmarks/stats.ts';
import { files } from '../../test/support/shared-data.ts';
import { startStack, type Stack } from '../../test/support/stack.ts';
import { armsFromArgs } from './arms.ts';

const [rounds = 8, chunk = 5] = process.argv.slice(2, 4).map(Number);
const armEnvs = armsFromArgs(process.argv.slice(4));
const env = { LANTERN_RATE_LIMIT: '0' };
const arms: { name: string; stack: Stack; samples: Record<string, number[]> }[] = [];
const loads = [os.loadavg()[0]];
try {
  for (const [name, extra] of armEnvs) arms.push({ name, stack: await startStack({ workers: 1, env: { ...env, ...extra } }), samples: {} });
  const modelKey = await modelKeyOf(arms[0].stack.baseUrl);
  let offset = 1;
  for (let round = 0; round <= rounds; round++) {
    for (let i = 0; i < arms.length; i++) {
      const arm = arms[(i + round) % arms.length];
      const measured = await measureEndToEnd(arm.stack, studyCopies(files.chestJ2k, chunk, offset), modelKey);
      offset += chunk;
      if (round === 0) continue;
      const add = (series: string, values: number[]) => (arm.samples[series] ??= []).push(...values);
      add('end to end', measured.samples.total);
      add('STOW-RS request', measured.samples.ingest);
      add('upload → queued', measured.samples['upload → queued']);
    }
    loads.push(os.loadavg()[0]);
  }
} finally {
  await Promise.all(arms.map(({ stack }) => stack.stop()));
}
console.log(`\`npx tsx tools/hot-path/upload-ab.ts ${process.argv.slice(2).join(' ')}\`: ${rounds} rounds of ${chunk} uploads per arm, alternating; 1-min load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`);
console.log(`| series | ${arms.map((a) => `${a.name} p50 / p95 (ms)`).join(' | ')} | ${arms.slice(1).map((a) => `${a.name} ÷ default p50 / p95`).join(' | ')} |`);
console.log(`|---|${arms.map(() => '---|').join('')}${arms.slice(1).map(() => '---|').join('')}`);
for (const series of Object.keys(arms[0].samples)) {
  const summaries = arms.map((a) => summarise(a.samples[series]));
  const [base] = summaries;
  console.log(`| ${series} | ${summaries.map((s) => `${s.p50} / ${s.p95}`).join(' | ')} | ${summaries.slice(1).map((s) => `${ratio(s.p50, base.p50)} / ${ratio(s.p95, base.p95)}`).join(' | ')} |`);
}
