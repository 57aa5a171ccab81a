import { describe, expect, it } from 'vitest';
import { inputStatsOf, select } from './input-stats.ts';

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

  it('when percentiles are found by selection, then they are the nearest-rank values of the sorted input, whatever its shape', () => {
    // A deterministic generator: the same inputs on every run.
    let seed = 7;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const inputs = {
      uniform: Float32Array.from({ length: 50_176 }, next),
      'a black border (40 % zeros) and 8-bit levels': Float32Array.from({ length: 50_176 }, () => (next() < 0.4 ? 0 : Math.floor(next() * 256) / 255)),
      'one value': new Float32Array(50_176).fill(0.25),
      'normalised, signed': Float32Array.from({ length: 50_176 }, () => (next() - 0.485) / 0.229),
      ascending: Float32Array.from({ length: 50_176 }, (_, i) => i),
      descending: Float32Array.from({ length: 50_176 }, (_, i) => -i),
      small: Float32Array.from({ length: 7 }, next),
    };
    for (const [name, data] of Object.entries(inputs)) {
      const sorted = data.slice().sort();
      const rank = (q: number) => sorted[Math.min(data.length - 1, Math.max(0, Math.ceil(q * data.length) - 1))];
      const stats = inputStatsOf({ data });
      expect([name, stats.p05, stats.p95]).toEqual([name, Math.round(rank(0.05) * 1e5) / 1e5, Math.round(rank(0.95) * 1e5) / 1e5]);
      for (const k of [0, 1, data.length >> 1, data.length - 1]) expect(select(data.slice(), k, 0, data.length - 1)).toBe(sorted[k]);
    }
  });

  it('when the input holds a NaN, then the percentiles are those of the sorted input, NaN last', () => {
    const data = Float32Array.from({ length: 100 }, (_, i) => i);
    data[3] = Number.NaN;
    const stats = inputStatsOf({ data });
    expect(stats.p05).toBe(5);
    expect(stats.p95).toBe(95);
  });
});
