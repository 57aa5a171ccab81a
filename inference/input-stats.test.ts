import { describe, expect, it } from 'vitest';
import { inputStatsOf } from './input-stats.ts';

describe('inputStatsOf', () => {
  it('when the input is 0..99, then mean, sd and the 5th/95th nearest-rank percentiles are those of 0..99', () => {
    const data = Float32Array.from({ length: 100 }, (_, i) => 99 - i);
    const stats = inputStatsOf({ data });
    expect(stats.mean).toBeCloseTo(49.5, 5);
    expect(stats.sd).toBeCloseTo(Math.sqrt((100 ** 2 - 1) / 12), 4);
    expect(stats.p05).toBe(4);
    expect(stats.p95).toBe(94);
  });

  it('when an image is inverted (1 - x), then its mean mirrors and its percentiles swap', () => {
    const data = Float32Array.from({ length: 10_000 }, (_, i) => (i % 97) / 96 * 0.6);
    const plain = inputStatsOf({ data });
    const inverted = inputStatsOf({ data: data.map((v) => 1 - v) });
    expect(inverted.mean).toBeCloseTo(1 - plain.mean, 4);
    expect(inverted.sd).toBeCloseTo(plain.sd, 4);
    expect(inverted.p95).toBeCloseTo(1 - plain.p05, 4);
  });

  it('when the input is larger than the sample bound, then a strided sample still gives the same summary of a uniform ramp', () => {
    const data = Float32Array.from({ length: 400_000 }, (_, i) => i / 400_000);
    const stats = inputStatsOf({ data });
    expect(stats.mean).toBeCloseTo(0.5, 3);
    expect(stats.p05).toBeCloseTo(0.05, 2);
    expect(stats.p95).toBeCloseTo(0.95, 2);
  });
});
