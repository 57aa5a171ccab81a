import { describe, expect, it } from 'vitest';
import { PRIORITY_BANDS, priorityBand } from './priority-bands.ts';

describe('priority bands', () => {
  it('when a priority sits on a band edge, then it belongs to the band that starts there', () => {
    expect([0, 24.9, 25, 49.9, 50, 74.9, 75, 100].map(priorityBand)).toEqual(['low', 'low', 'routine', 'routine', 'high', 'high', 'urgent', 'urgent']);
  });

  it('then the bands cover 0–100 without gap or overlap', () => {
    const edges = Object.values(PRIORITY_BANDS).flatMap((b) => ['min' in b ? b.min : 0, 'max' in b ? b.max : 100]).sort((a, b) => a - b);
    expect(edges).toEqual([0, 25, 25, 50, 50, 75, 75, 100]);
  });
});
