/**
 * A deterministic pseudo-random generator of uniform numbers in [0, 1) (mulberry32, 32-bit
 * state): the same seed draws the same stream on every machine and Node version, so a
 * bootstrap interval, a synthetic evaluation or a seeded test reproduces exactly.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
