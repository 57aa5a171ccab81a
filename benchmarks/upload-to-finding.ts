/**
 * Upload → finding persisted, end to end against `lantern start` (private redis,
 * PGlite, one worker), on an idle queue. Each run uploads the real chest CR
 * (fo-dicom CR-MONO1-10-chest, 440×440) re-wrapped with fresh UIDs, so every run is
 * new work, and polls the study until its finding is stored.
 *
 *   npx tsx benchmarks/upload-to-finding.ts [runs=20] [file]
 *
 * Prints median and p95 of the total, and the worker's own stage timings.
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { decodeFrame } from '../dicom/decode/index.ts';
import { parseDicom, requirePixelData } from '../dicom/parse.ts';
import { apiClient } from '../test/support/api-client.ts';
import { buildCr } from '../test/support/dicom-builder.ts';
import { files } from '../test/support/shared-data.ts';
import { startStack } from '../test/support/stack.ts';

const runs = Number(process.argv[2] ?? 20);
const source = process.argv[3] ?? files.chestRaw;

async function freshCopies(count: number): Promise<Uint8Array[]> {
  const instance = parseDicom(new Uint8Array(fs.readFileSync(source)));
  const image = requirePixelData(instance);
  const frame = await decodeFrame(instance, 0);
  const pixels = new Uint8Array(frame.pixels.buffer, frame.pixels.byteOffset, frame.pixels.byteLength);
  return Array.from({ length: count }, (_, i) => buildCr(`1.2.826.0.1.3680043.10.543.${Date.now()}.${i}`, '1.2.840.10008.1.2.1', image, pixels));
}

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};

const copies = await freshCopies(runs + 2);
const stack = await startStack({ workers: 1 });
try {
  const api = apiClient(stack.baseUrl);
  const totals: number[] = [];
  const stages: Record<string, number[]> = {};
  for (const [i, bytes] of copies.entries()) {
    const start = performance.now();
    const { body } = await api.stow([bytes]);
    const study = body.stored![0].studyInstanceUid;
    let finding;
    for (;;) {
      finding = (await api.study(study)).body.findings[0];
      if (finding) break;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const total = performance.now() - start;
    if (i < 2) continue; // warm-up: first requests pay JIT and connection set-up
    totals.push(total);
    for (const [stage, ms] of Object.entries(finding.timingMs)) (stages[stage] ??= []).push(ms);
    process.stderr.write(`\r${i - 1}/${runs} runs`);
  }
  const median = quantile(totals, 0.5);
  console.log(`\nupload → finding persisted, ${runs} runs: median ${median.toFixed(1)} ms, p95 ${quantile(totals, 0.95).toFixed(1)} ms`);
  for (const [stage, values] of Object.entries(stages)) {
    const m = quantile(values, 0.5);
    console.log(`  worker ${stage.padEnd(11)} median ${m.toFixed(2)} ms (${((100 * m) / median).toFixed(1)}% of the median total)`);
  }
} finally {
  await stack.stop();
}
