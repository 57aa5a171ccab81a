import { describe, expect, it } from 'vitest';
import { binCounts, continuousPsi, decileEdges, psi, psiBand } from './psi.ts';

describe('PSI', () => {
  it('when the window has the reference\'s counts, then PSI is 0; with its shares at twice the size, next to 0 (the smoothing)', () => {
    expect(psi([10, 20, 30], [10, 20, 30])).toBe(0);
    expect(psi([10, 20, 30], [20, 40, 60])).toBeLessThan(1e-4);
  });

  it('when shares move, then PSI is the symmetrised KL divergence of the (smoothed) shares', () => {
    const e = [50.5 / 101, 50.5 / 101];
    const a = [90.5 / 101, 10.5 / 101];
    const expected = (a[0] - e[0]) * Math.log(a[0] / e[0]) + (a[1] - e[1]) * Math.log(a[1] / e[1]);
    expect(psi([50, 50], [90, 10])).toBeCloseTo(expected, 12);
  });

  it('when a bin is empty in the window, then PSI stays finite', () => {
    expect(Number.isFinite(psi([10, 10, 10], [0, 15, 15]))).toBe(true);
  });

  it('when the reference is 1..100, then the decile edges are 10, 20, …, 90 and each bin holds ten values', () => {
    const reference = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(decileEdges(reference)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90]);
    expect(binCounts(reference, decileEdges(reference))).toEqual(new Array(10).fill(10));
  });

  it('when the reference has few distinct values, then ties merge into fewer bins; a constant reference has none', () => {
    expect(decileEdges([0, 0, 0, 0, 0, 0, 0, 1, 1, 2])).toEqual([0, 1]);
    expect(continuousPsi([3, 3, 3], [3, 4])).toBeNull();
  });

  it('when a window is shifted by one reference sd, then PSI is over the drift threshold; an unshifted one is under the moderate line', () => {
    const normal = (seed: number) => { let s = seed; return () => { s = (s * 1103515245 + 12345) % 2 ** 31; return s / 2 ** 31; }; };
    const rand = normal(7);
    const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
    const reference = Array.from({ length: 2000 }, gauss);
    const same = Array.from({ length: 2000 }, gauss);
    const shifted = Array.from({ length: 2000 }, () => gauss() + 1);
    expect(psiBand(continuousPsi(reference, same)!.psi)).toBe('stable');
    expect(psiBand(continuousPsi(reference, shifted)!.psi)).toBe('drift');
  });
});
