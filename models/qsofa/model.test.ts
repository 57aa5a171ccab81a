/** qSOFA against RISK-EQUATIONS.md section 5, through the generic score evaluator. */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { evaluateScore } from '../../inference/scores/evaluate.ts';
import { maxScore } from '../../inference/scores/table.ts';
import { loadScoreCard } from '../../inference/scores/test-support.ts';

const card = loadScoreCard(dirname(fileURLToPath(import.meta.url)));

describe('qSOFA', () => {
  it.each([
    [24, 95, 14, 3, 'positive'],
    [20, 120, 15, 0, 'negative'],
    [22, 101, 15, 1, 'negative'],
  ])('when RR %d, SBP %d, GCS %d, then qSOFA is %d (%s)', (respiratoryRate, systolicBp, gcs, total, band) => {
    const r = evaluateScore(card, { respiratoryRate, systolicBp, gcs });
    expect(r.score).toBe(total);
    expect(r.band.label).toBe(band);
  });

  it('when RR is exactly 22, then it counts; at 21 it does not', () => {
    expect(evaluateScore(card, { respiratoryRate: 22, systolicBp: 120, gcs: 15 }).score).toBe(1);
    expect(evaluateScore(card, { respiratoryRate: 21, systolicBp: 120, gcs: 15 }).score).toBe(0);
  });

  it('when SBP is exactly 100, then it counts; at 101 it does not', () => {
    expect(evaluateScore(card, { respiratoryRate: 16, systolicBp: 100, gcs: 15 }).score).toBe(1);
    expect(evaluateScore(card, { respiratoryRate: 16, systolicBp: 101, gcs: 15 }).score).toBe(0);
  });

  it('when two criteria are met, then qSOFA is positive (≥2) and each term says why', () => {
    const r = evaluateScore(card, { respiratoryRate: 16, systolicBp: 95, gcs: 13 });
    expect(r.score).toBe(2);
    expect(r.band.label).toBe('positive');
    expect(r.terms.map((t) => t.points)).toEqual([0, 1, 1]);
    expect(r.terms[1].because).toBe('gcs < 15 (gcs 13): yes → 1 point');
    expect(r.terms[0].because).toBe('respiratoryRate ≥ 22 (respiratoryRate 16): no → 0 points');
  });

  it('when the maximum is reached, then it is 3', () => {
    expect(maxScore(card)).toBe(3);
  });
});
