/** Chinese Diabetes Risk Score against RISK-EQUATIONS.md section 7 (the guideline table), through the generic evaluator. */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { evaluateScore } from '../../inference/scores/evaluate.ts';
import { maxScore } from '../../inference/scores/table.ts';
import { loadScoreCard } from '../../inference/scores/test-support.ts';

const card = loadScoreCard(dirname(fileURLToPath(import.meta.url)));
type In = { age: number; sex: 'male' | 'female'; systolicBp: number; bmi: number; waist: number; familyHistory: boolean };
const score = (i: In) => evaluateScore(card, i);
const points = (i: In) => Object.fromEntries(score(i).terms.map((t) => [t.term, t.points]));
const man45: In = { age: 45, sex: 'male', systolicBp: 135, bmi: 25, waist: 88, familyHistory: false };

describe('Chinese Diabetes Risk Score', () => {
  it.each([
    ['45 y man, SBP 135, BMI 25, waist 88, no FH', man45, 30, 'high'],
    ['31 y man, SBP 145, BMI 31, waist 96, no FH', { age: 31, sex: 'male', systolicBp: 145, bmi: 31, waist: 96, familyHistory: false }, 28, 'high'],
    ['60 y woman, SBP 150, BMI 23, waist 82, FH', { age: 60, sex: 'female', systolicBp: 150, bmi: 23, waist: 82, familyHistory: true }, 38, 'high'],
    ['22 y woman, SBP 105, BMI 20, waist 65', { age: 22, sex: 'female', systolicBp: 105, bmi: 20, waist: 65, familyHistory: false }, 0, 'low'],
  ] as const)('when %s, then CDRS is %d (%s)', (_name, input, total, band) => {
    const r = score(input as In);
    expect(r.score).toBe(total);
    expect(r.band.label).toBe(band);
  });

  it('when the 45-year-old man is itemised, then it is 12 + 6 + 3 + 7 + 0 + 2 as in the reference', () => {
    expect(points(man45)).toEqual({ age: 12, systolicBp: 6, bmi: 3, waist: 7, familyHistory: 0, sex: 2 });
  });

  it('when the 31-year-old man is itemised, then age is worth 4 (25–34), not 1 as one public implementation has it', () => {
    expect(points({ age: 31, sex: 'male', systolicBp: 145, bmi: 31, waist: 96, familyHistory: false }).age).toBe(4);
  });

  it('when the total is 24 or 25, then 25 is the first high (OGTT) score', () => {
    // 45 y woman: age 12 + SBP 130–139 6 + BMI 24–29.9 3 + waist 70–74.9 3 = 24; waist 75 → 5 → 26; BMI <24 → 1 gives 24 again.
    const woman = { age: 45, sex: 'female' as const, systolicBp: 135, bmi: 25, waist: 72, familyHistory: false };
    expect(score(woman)).toMatchObject({ score: 24, band: { label: 'low' } });
    expect(score({ ...woman, systolicBp: 140 })).toMatchObject({ score: 25, band: { label: 'high' } });
    expect(score({ ...woman, systolicBp: 140 }).band.display).toMatch(/OGTT/);
  });

  it('when values sit on the published edges, then the lower edge belongs to the higher band', () => {
    const at = (o: Partial<In>) => points({ ...man45, ...o });
    expect([at({ age: 24 }).age, at({ age: 25 }).age, at({ age: 34 }).age, at({ age: 35 }).age, at({ age: 64 }).age, at({ age: 65 }).age, at({ age: 74 }).age]).toEqual([0, 4, 4, 8, 16, 18, 18]);
    expect([at({ systolicBp: 109 }).systolicBp, at({ systolicBp: 110 }).systolicBp, at({ systolicBp: 119 }).systolicBp, at({ systolicBp: 159 }).systolicBp, at({ systolicBp: 160 }).systolicBp]).toEqual([0, 1, 1, 8, 10]);
    expect([at({ bmi: 21.9 }).bmi, at({ bmi: 22 }).bmi, at({ bmi: 23.9 }).bmi, at({ bmi: 23.95 }).bmi, at({ bmi: 24 }).bmi, at({ bmi: 29.9 }).bmi, at({ bmi: 30 }).bmi]).toEqual([0, 1, 1, 1, 3, 3, 5]);
  });

  it('when sex differs, then the waist bands differ: 72 cm scores 0 for a man and 3 for a woman; 90 cm scores 8 and 10', () => {
    expect(points({ ...man45, waist: 72 }).waist).toBe(0);
    expect(points({ ...man45, sex: 'female', waist: 72 }).waist).toBe(3);
    expect(points({ ...man45, waist: 90 }).waist).toBe(8);
    expect(points({ ...man45, sex: 'female', waist: 90 }).waist).toBe(10);
    expect(points({ ...man45, waist: 74.9 }).waist).toBe(0);
    expect(points({ ...man45, waist: 95 }).waist).toBe(10);
  });

  it('when the card is read, then the range is 0–51 and ages 20–74 are the validated range', () => {
    expect(maxScore(card)).toBe(51);
    expect(card.features.find((f) => f.name === 'age')!.validated).toEqual([20, 74]);
  });
});
