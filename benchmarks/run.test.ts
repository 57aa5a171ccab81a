/**
 * The harness on a tiny budget, so it cannot rot. It checks that every figure is
 * produced, consistent with its reference and written out — never how fast anything is
 * (this machine is shared and noisy; speed is for `npm run bench`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { files } from '../test/support/shared-data.ts';
import { runBenchmarks } from './run.ts';

describe('npm run bench on a tiny budget', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-bench-'));
  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  it('when it runs, then every figure is a ratio to its reference and the report, JSON and plots are written', async () => {
    // The JPEG 2000 chest film, so that the native reference (opj_decompress) runs too.
    const report = await runBenchmarks({ quick: true, out, study: files.chestJ2k });
    const { figures, details } = report;
    expect(figures.endToEndRatio.p50).toBeCloseTo(details.endToEnd.total.p50 / details.reference.total.p50, 2);
    expect(details.endToEnd.total.p50).toBeGreaterThan(0);
    expect(figures.poolThroughputRatio.imagesPerSecond).toBeGreaterThan(0);
    // Per core against the CPU an image costs the reference (all its threads and its decoding sidecar), and, as before, against its wall time.
    expect(details.reference.cpuMsPerImage).toBeGreaterThan(0);
    expect(figures.poolThroughputRatio.perCoreEfficiency).toBeCloseTo(figures.poolThroughputRatio.imagesPerSecond * details.reference.cpuMsPerImage / 1000 / report.machine.cores, 2);
    expect(figures.poolThroughputRatio.perCoreByWallTime).toBeCloseTo(figures.poolThroughputRatio.imagesPerSecond * details.reference.total.p50 / 1000 / report.machine.cores, 2);
    // npm test installs libopenjp2-tools (scripts/ensure-deps.mjs), so the native figures are there.
    if ('skipped' in figures.native) throw new Error(figures.native.skipped);
    const { decodeRatio, endToEndRatio } = figures.native;
    expect(decodeRatio.p50).toBeCloseTo(decodeRatio.ours.p50 / decodeRatio.native.p50, 2);
    expect(decodeRatio.processStartSubtracted.native.p50).toBeLessThan(decodeRatio.native.p50);
    expect(endToEndRatio.p50).toBeCloseTo(details.endToEnd.total.p50 / endToEndRatio.native.p50, 2);
    expect(decodeRatio.levels.every((level) => Number.isInteger(level) && level >= 0)).toBe(true);
    expect(figures.riskApiRatio.p50).toBeCloseTo(details.api.risk.p50 / details.api.bare.p50, 2);
    expect(figures.eventLoopLagUnderSaturation.p99Ms).toBeGreaterThanOrEqual(0);
    // The pool's CPU split comes from the stack's own processes: the workers decoded every film in the window.
    expect(details.saturation.cpuMsPerStudy.workers).toBeGreaterThan(0);
    expect(Object.keys(details.saturation.cpuMsPerStudy).sort()).toEqual(['api', 'database', 'redis', 'workers']);
    expect(figures.bullmqNoop.n).toBeGreaterThan(0);
    expect(figures.viewerFirstPixels.ratio.p50).toBeCloseTo(figures.viewerFirstPixels.fromRequest.first.p50 / figures.viewerFirstPixels.fromRequest.full.p50, 2);
    const stageNames = ['upload → queued', 'queue wait', 'parse', 'decode', 'preprocess', 'inference', 'postprocess', 'worker: blob read, hand back', 'result pickup', 'persist', 'delivery'];
    expect(Object.keys(details.endToEnd.stages).sort()).toEqual([...stageNames].sort());
    // The stages are the whole of each run: nothing unaccounted for beyond the timestamps' millisecond rounding.
    details.endToEnd.samples.total.forEach((total, run) => {
      const stages = stageNames.reduce((sum, stage) => sum + details.endToEnd.samples[stage][run], 0);
      expect(Math.abs(stages - total), `run ${run}: stages ${stages} vs total ${total}`).toBeLessThan(6);
    });
    for (const file of ['report.md', 'report.json', 'stages.svg', 'api.svg', 'bullmq.svg']) {
      expect(fs.statSync(path.join(out, file)).size, file).toBeGreaterThan(200);
    }
    const markdown = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
    expect(markdown).toMatch(/image study end to end ÷ in-process pipeline/);
    expect(markdown).toMatch(/decode \+ preprocess ÷ native/);
  }, 400_000);
});
