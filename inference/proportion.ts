/**
 * A proportion with its Wilson score 95% interval: what the agreement dashboard shows at run
 * time, and what the offline evaluation (tools/evaluation/metrics.ts) reports beside its other metrics.
 */

/** Two-sided 95% normal quantile. */
export const Z95 = 1.959963984540054;

export interface Proportion {
  value: number;
  /** Wilson score interval. */
  ci95: [number, number];
  k: number;
  n: number;
}

/** k/n with the Wilson (1927) score 95% interval (Newcombe 1998, method 3). */
export function wilson(k: number, n: number): Proportion {
  if (!Number.isInteger(k) || !Number.isInteger(n) || n <= 0 || k < 0 || k > n) throw new RangeError(`wilson needs 0 <= k <= n, n > 0 (got ${k}/${n})`);
  const p = k / n;
  const z2 = Z95 * Z95;
  const d = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / d;
  const half = (Z95 * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / d;
  // At k = 0 (k = n) the bound is exactly 0 (1); the float expression leaves a 1e-17 residue.
  return { value: p, ci95: [k === 0 ? 0 : Math.max(0, centre - half), k === n ? 1 : Math.min(1, centre + half)], k, n };
}
