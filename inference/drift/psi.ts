/**
 * Population Stability Index (PSI) between a reference sample and a window, binned on the
 * reference's deciles: PSI = Σ (aᵢ − eᵢ) · ln(aᵢ / eᵢ) over the bins, with eᵢ the reference's
 * share of bin i and aᵢ the window's (the symmetrised Kullback–Leibler divergence). Thresholds
 * are the credit-scoring rule of thumb (Lewis, An Introduction to Credit Scoring, 1994; as
 * commonly quoted): below 0.1 stable, 0.1–0.25 moderate shift, above 0.25 drift. The rule is
 * folklore, and PSI grows with the number of bins and shrinks with sample size: under no shift
 * its expected value is about (bins − 1)·(1/n_reference + 1/n_window), so the window sizes in
 * drift/windows.ts are chosen to keep that well under 0.1, and the false-alarm rate is
 * measured (tools/drift/false-alarms.ts), not assumed.
 */
export const PSI_THRESHOLDS = { moderate: 0.1, drift: 0.25 } as const;

export type PsiBand = 'stable' | 'moderate' | 'drift';

export function psiBand(psi: number): PsiBand {
  return psi > PSI_THRESHOLDS.drift ? 'drift' : psi >= PSI_THRESHOLDS.moderate ? 'moderate' : 'stable';
}

/**
 * Interior cut points at the reference's deciles (nearest rank), ties merged: a quantity
 * with few distinct values gets fewer bins rather than empty ones. Bin i holds values in
 * (edge[i-1], edge[i]]; the first bin is open below, the last open above.
 */
export function decileEdges(reference: readonly number[]): number[] {
  const sorted = [...reference].sort((a, b) => a - b);
  const edges: number[] = [];
  for (let d = 1; d < 10; d++) {
    const cut = sorted[Math.min(sorted.length - 1, Math.ceil((d / 10) * sorted.length) - 1)];
    if (edges.length === 0 || cut > edges[edges.length - 1]) edges.push(cut);
  }
  // A cut at the maximum leaves the last bin empty in the reference by construction: drop it.
  if (edges.length > 0 && edges[edges.length - 1] >= sorted[sorted.length - 1]) edges.pop();
  return edges;
}

/** How many values fall in each bin of `edges` (edges.length + 1 bins). */
export function binCounts(values: readonly number[], edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const value of values) {
    let lo = 0;
    let hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (value <= edges[mid]) hi = mid; else lo = mid + 1;
    }
    counts[lo]++;
  }
  return counts;
}

/**
 * PSI of two count vectors over the same bins. Each share is smoothed by half a count per
 * bin (a bin empty on one side would otherwise make the index infinite), so a single empty
 * bin in a small window cannot on its own raise an alert.
 */
export function psi(expected: readonly number[], actual: readonly number[]): number {
  if (expected.length !== actual.length || expected.length === 0) throw new Error('psi needs two count vectors over the same bins');
  const share = (counts: readonly number[]) => {
    const total = counts.reduce((a, b) => a + b, 0) + 0.5 * counts.length;
    return counts.map((c) => (c + 0.5) / total);
  };
  const e = share(expected);
  const a = share(actual);
  let sum = 0;
  for (let i = 0; i < e.length; i++) sum += (a[i] - e[i]) * Math.log(a[i] / e[i]);
  return sum;
}

/** PSI of a continuous quantity: the window binned on the reference's deciles. Null when the reference has a single value (nothing to bin). */
export function continuousPsi(reference: readonly number[], window: readonly number[]): { psi: number; edges: number[] } | null {
  if (reference.length === 0 || window.length === 0) return null;
  const edges = decileEdges(reference);
  if (edges.length === 0) return null;
  return { psi: psi(binCounts(reference, edges), binCounts(window, edges)), edges };
}
