/**
 * The mutation campaign in CI: 3,000 mutants of seven real files (every mutation kind, each
 * seed), parsed and, when they parse, decoded. `npm run fuzz` runs the full 10,000+.
 */
import { describe, expect, it } from 'vitest';
import { mutate, MUTATIONS, runFuzz } from './fuzz.ts';
import { fuzzSeeds } from './fuzz-seeds.ts';

describe('fuzz campaign', () => {
  it('when 3,000 mutated real files are parsed and decoded, then each ends in success or a typed DicomError, none holds a NUL, each in bounded time', async () => {
    const report = await runFuzz(fuzzSeeds(), 3000, { decode: true, rngBase: 7 });
    expect(report.untyped).toEqual([]);
    expect(report.mutants).toBe(3000);
    for (const mutation of MUTATIONS) expect(report.byMutation[mutation]).toBeGreaterThan(400);
    expect(report.accepted).toBeGreaterThan(0);
    expect(Object.values(report.refused).reduce((a, b) => a + b, 0)).toBeGreaterThan(2000);
    // Bounded, not tight: the slowest mutant is a JPEG 2000 decode; a stall would be seconds.
    expect(report.slowestMs).toBeLessThan(5000);
  }, 120_000);

  it('when the same seed is mutated twice, then the mutant is the same (a finding reproduces)', () => {
    const [seed] = fuzzSeeds();
    for (const mutation of MUTATIONS) expect(Buffer.compare(mutate(seed.bytes, mutation, 42), mutate(seed.bytes, mutation, 42))).toBe(0);
  });
});
