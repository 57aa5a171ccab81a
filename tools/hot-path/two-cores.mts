/**
 * Whether this machine's cores are independent for the image pipeline: the in-process reference
 * (benchmarks/figures/pipeline.ts, one thread, as a worker) timed alone, then two of them at
 * once. The pool figure's denominator (cores ÷ in-process time per image) assumes two pipelines
 * run as fast side by side as one alone; if they slow each other (shared physical core, memory
 * bandwidth), no serving layer can reach it.
 *
 *   npx tsx tools/hot-path/two-cores.mts [images=40]
 */
import { performance } from 'node:perf_hooks';
import { startPipelineReference } from '../../benchmarks/figures/pipeline.ts';
import { summarise } from '../../benchmarks/stats.ts';
import { files } from '../../test/support/shared-data.ts';

const images = Number(process.argv[2] ?? 40);
const [a, b] = await Promise.all([startPipelineReference(1), startPipelineReference(1)]);
try {
  await Promise.all([a.measure({ file: files.chestJ2k, count: 3, offset: 10 }), b.measure({ file: files.chestJ2k, count: 3, offset: 20 })]);
  for (const round of [1, 2]) {
    let t = performance.now();
    const alone = await a.measure({ file: files.chestJ2k, count: images, offset: 1_000 * round });
    const aloneRate = images / ((performance.now() - t) / 1000);
    t = performance.now();
    const both = await Promise.all([a.measure({ file: files.chestJ2k, count: images, offset: 3_000 * round }), b.measure({ file: files.chestJ2k, count: images, offset: 5_000 * round })]);
    const bothRate = 2 * images / ((performance.now() - t) / 1000);
    console.log(JSON.stringify({
      round, alone: { p50: summarise(alone.samples).p50, imgPerS: +aloneRate.toFixed(1) },
      twoAtOnce: { p50: summarise(both.flatMap((c) => c.samples)).p50, imgPerS: +bothRate.toFixed(1) },
      perCore: +(bothRate / (2 * aloneRate)).toFixed(3),
    }));
  }
} finally {
  await Promise.all([a.stop(), b.stop()]);
}
