/**
 * Smoke test of measureFlops on the small generated ResNet ([1,1,1,1] at 64²) with a
 * tiny budget: checks the result's structure and internal consistency, never wall-clock
 * times. The real figure is `npx tsx benchmarks/flops/cli.ts` on ResNet-50.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeCpu } from './cpu.ts';
import { measureFlops } from './measure.ts';
import { DEFAULT_MODELS_DIR, ensureModels } from './models.ts';
import { summarize } from './runner.ts';

const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(b)));

describe('benchmarks/flops', () => {
  it('builds the models with exact FLOP counts (ResNet-50 v1 = 3.858 GMACs, 25.5 M params)', () => {
    const meta = ensureModels();
    const r50 = meta.models.resnet50;
    // ResNet-50 v1 at 224²: conv+fc MACs, counted by build_models.py from the graph it writes.
    expect(r50.macs).toBe(3_857_973_248);
    expect(r50.flops).toBe(2 * r50.macs);
    expect(r50.input.shape).toEqual([1, 3, 224, 224]);
    for (const m of Object.values(meta.models)) {
      expect(fs.statSync(path.join(DEFAULT_MODELS_DIR, m.file)).size).toBe(m.bytes);
      if (m.n) expect(m.flops).toBe(2 * m.n ** 3);
    }
  });

  it('derives FLOP/cycle from cpuinfo flags and prefers the cpufreq max clock', () => {
    const info = (vendor: string, family: number, model: number, flags: string, mhz = 2000) =>
      `processor\t: 0\nvendor_id\t: ${vendor}\ncpu family\t: ${family}\nmodel\t\t: ${model}\nmodel name\t: X\ncpu MHz\t\t: ${mhz}\nflags\t\t: sse avx ${flags}\n\nprocessor\t: 1\ncpu MHz\t\t: ${mhz}\n`;
    expect(describeCpu(info('AuthenticAMD', 25, 1, 'avx2 fma'), '').flopsPerCycle).toBe(32);
    expect(describeCpu(info('AuthenticAMD', 23, 1, 'avx2 fma'), '').flopsPerCycle).toBe(16);
    expect(describeCpu(info('GenuineIntel', 6, 85, 'avx2 fma avx512f'), '').flopsPerCycle).toBe(64);
    const c = describeCpu(info('GenuineIntel', 6, 85, 'avx2 fma'), '');
    expect(c).toMatchObject({ cores: 2, clockMHz: 2000, flopsPerCycle: 32 });
    expect(c.clockSource).toMatch(/cpu MHz/);
    const f = describeCpu(info('GenuineIntel', 6, 85, 'avx2 fma'), '3500000\n');
    expect(f.clockMHz).toBe(3500);
    expect(f.clockSource).toMatch(/cpuinfo_max_freq/);
  });

  it('summarize: median, nearest-rank p95', () => {
    const t = summarize(Array.from({ length: 20 }, (_, i) => 20 - i));
    expect(t).toEqual({ runs: 20, medianMs: 10.5, p95Ms: 19, minMs: 1 });
  });

  it('measureFlops on a small budget returns a consistent result', async () => {
    const messages: string[] = [];
    const r = await measureFlops({ budgetMs: 3000, model: 'tiny', onProgress: (m) => messages.push(m) });
    expect(messages.length).toBeGreaterThan(0);
    expect(r.model.name).toBe('tiny');
    expect(r.model.gflop).toBeGreaterThan(0);
    close(r.model.gflop, (2 * r.model.macs) / 1e9);

    expect(r.latency.runs).toBeGreaterThanOrEqual(3);
    expect(r.latency.minMs).toBeGreaterThan(0);
    expect(r.latency.medianMs).toBeGreaterThanOrEqual(r.latency.minMs);
    expect(r.latency.p95Ms).toBeGreaterThanOrEqual(r.latency.medianMs);
    close(r.achievedGflopsPerSec, r.model.gflop / (r.latency.medianMs / 1000));

    const g = r.gemm;
    expect(g.explored.length).toBeGreaterThanOrEqual(2);
    expect(g.explored.some((e) => e.n === g.n && e.threads === g.threads)).toBe(true);
    close(g.peakGflopsPerSec, (2 * g.n ** 3) / 1e9 / (g.latency.medianMs / 1000));
    for (const e of g.explored) close(e.gflopsPerSec, e.gflop / (e.medianMs / 1000));

    const rf = r.roofline;
    close(rf.gflopsPerSec, (rf.cores * rf.flopsPerCycle * rf.clockMHz) / 1000);
    expect([16, 32, 64, 8]).toContain(rf.flopsPerCycle);
    expect(rf.clockMHz).toBeGreaterThan(0);
    close(rf.impliedClockMHzFromGemm, (g.peakGflopsPerSec * 1000) / (rf.cores * rf.flopsPerCycle));

    close(r.ratios.ofMeasuredPeak, r.achievedGflopsPerSec / g.peakGflopsPerSec);
    close(r.ratios.ofRoofline, r.achievedGflopsPerSec / rf.gflopsPerSec);
    close(r.ratios.gemmOfRoofline, g.peakGflopsPerSec / rf.gflopsPerSec);
    expect(r.goal.met).toBe(r.ratios.ofMeasuredPeak >= r.goal.ofMeasuredPeak);

    // Thread count: the paired phase's fastest model; spinning: phase 1's fastest variant.
    expect(r.variants.length).toBeGreaterThanOrEqual(2);
    const fastest = r.variants.reduce((a, b) => (b.medianMs < a.medianMs ? b : a));
    expect(r.paired.length).toBe(new Set(r.variants.map((v) => v.threads)).size);
    const winner = r.paired.reduce((a, b) => (b.modelGflopsPerSec > a.modelGflopsPerSec ? b : a));
    expect(r.latency).toEqual(winner.model);
    close(r.achievedGflopsPerSec, winner.modelGflopsPerSec);
    close(g.peakGflopsPerSec, Math.max(...r.paired.map((p) => p.gemmGflopsPerSec)));
    for (const p of r.paired) {
      expect(p.spinning).toBe(fastest.spinning);
      close(p.gemmGflopsPerSec, (2 * p.gemmN ** 3) / 1e9 / (p.gemm.medianMs / 1000));
    }
    expect(r.sessionOptions).toEqual({
      intraOpNumThreads: winner.threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      extra: { session: { intra_op: { allow_spinning: fastest.spinning ? '1' : '0' } } },
    });
    expect(r.otherLoad.seconds).toBeGreaterThan(0);
    expect(r.otherLoad.otherCores).toBeGreaterThanOrEqual(0);
    expect(r.variants.some((v) => v.spinning) && r.variants.some((v) => !v.spinning)).toBe(true);
    expect(r.limits.length).toBeGreaterThan(0);
  }, 60_000);
});
