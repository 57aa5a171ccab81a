/** CURB-65 against RISK-EQUATIONS.md section 6, through the generic score evaluator, and the card's adult population. */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ScoreModel } from '../../inference/registry.ts';
import { evaluateScoreModel, isNotApplicable } from '../../inference/score.ts';
import { evaluateScore } from '../../inference/scores/evaluate.ts';
import { maxScore } from '../../inference/scores/table.ts';
import { loadScoreCard, toCanonical } from '../../inference/scores/test-support.ts';
import { refusedFields } from '../../test/support/refused-fields.ts';

const dir = dirname(fileURLToPath(import.meta.url));
const card = loadScoreCard(dir);
const model: ScoreModel = { card, dir, key: `curb65@${card.version}`, sha256: 'card' };
const base = { confusion: false, urea: 5, respiratoryRate: 18, systolicBp: 130, diastolicBp: 80, age: 50 };
const score = (o: Partial<typeof base>) => evaluateScore(card, { ...base, ...o });

describe('CURB-65', () => {
  it.each([
    ['no confusion, urea 5, RR 18, 130/80, age 50', {}, 0, 'low'],
    ['urea 8, RR 32, 110/70, age 70', { urea: 8, respiratoryRate: 32, systolicBp: 110, diastolicBp: 70, age: 70 }, 3, 'high'],
    ['confused, urea 9, RR 31, 85/50, age 80', { confusion: true, urea: 9, respiratoryRate: 31, systolicBp: 85, diastolicBp: 50, age: 80 }, 5, 'high'],
  ] as const)('when %s, then CURB-65 is %d (%s)', (_name, o, total, band) => {
    const r = score(o);
    expect(r.score).toBe(total);
    expect(r.band.label).toBe(band);
  });

  it('when urea is exactly 7.0 mmol/L, then it scores 0; 7.1 scores 1', () => {
    expect(score({ urea: 7.0 }).score).toBe(0);
    expect(score({ urea: 7.1 }).score).toBe(1);
  });

  it('when DBP is exactly 60, then it scores 1; 61 scores 0', () => {
    expect(score({ diastolicBp: 60 }).score).toBe(1);
    expect(score({ diastolicBp: 61 }).score).toBe(0);
  });

  it('when SBP is 89, then it scores 1; exactly 90 scores 0', () => {
    expect(score({ systolicBp: 89 }).score).toBe(1);
    expect(score({ systolicBp: 90 }).score).toBe(0);
  });

  it('when both SBP and DBP are low, then blood pressure still scores one point', () => {
    const r = score({ systolicBp: 80, diastolicBp: 50 });
    expect(r.score).toBe(1);
    expect(r.terms.find((t) => t.term === 'bloodPressure')!.because).toBe('systolicBp < 90 or diastolicBp ≤ 60 (systolicBp 80, diastolicBp 50): yes → 1 point');
  });

  it('when RR is exactly 30, then it scores 1; 29 scores 0', () => {
    expect(score({ respiratoryRate: 30 }).score).toBe(1);
    expect(score({ respiratoryRate: 29 }).score).toBe(0);
  });

  it('when age is exactly 65, then it scores 1; 64 scores 0', () => {
    expect(score({ age: 65 }).score).toBe(1);
    expect(score({ age: 64 }).score).toBe(0);
  });

  it('when urea arrives as BUN in mg/dL, then the card converts it (× 0.357): BUN 19 → 6.78 mmol/L → 0; BUN 20 → 7.14 → 1', () => {
    expect(toCanonical(card, 'urea', 19, 'mg/dL')).toBeCloseTo(6.783, 3);
    expect(score({ urea: toCanonical(card, 'urea', 19, 'mg/dL') }).score).toBe(0);
    expect(score({ urea: toCanonical(card, 'urea', 20, 'mg/dL') }).score).toBe(1);
  });

  it('when the total is 1, 2 or 3, then the bands are low | moderate | high and carry the derivation-cohort mortality', () => {
    expect(score({ age: 70 }).band.label).toBe('low');
    const moderate = score({ age: 70, urea: 8 }).band;
    expect(moderate.label).toBe('moderate');
    expect(moderate.display).toMatch(/13\.0 %/);
    expect(score({ age: 70, urea: 8, confusion: true }).band.display).toMatch(/ICU/);
    expect(maxScore(card)).toBe(5);
  });
});

/** What a request body gets back: the card's inputs and its population gate (adults, 18 and over). */
describe('CURB-65 requests: adults only', () => {
  const body = { ...base, urea: { value: 5, unit: 'mmol/L' }, systolicBp: { value: 130, unit: 'mmHg' }, diastolicBp: { value: 80, unit: 'mmHg' } };
  const ask = (extra: Record<string, unknown>) => evaluateScoreModel(model, { ...body, ...extra });

  it('when the patient is 8, then CURB-65 is not applicable with the reason in both languages, and there is no score or band', () => {
    const answer = ask({ age: 8 });
    expect(answer.applicability).toEqual({
      applicable: false,
      reason: { code: 'OUTSIDE_POPULATION_AGE', text: 'patient age 8 y outside 18–120 y', textZh: '患者年龄 8 岁 不在 18–120 岁之内' },
      caveats: [],
    });
    expect(answer).not.toHaveProperty('score');
    expect(answer).not.toHaveProperty('band');
    expect(answer.inputs.age).toEqual({ value: 8, unit: 'years' });
  });

  it('when a child would score severe, then it is still not applicable: the gate comes before the table', () => {
    expect(isNotApplicable(ask({ age: 12, confusion: true, urea: { value: 9, unit: 'mmol/L' }, respiratoryRate: 31, systolicBp: { value: 85, unit: 'mmHg' } }))).toBe(true);
    expect(isNotApplicable(ask({ age: 17.9 }))).toBe(true);
  });

  it('when the patient is 18 or older, then CURB-65 is scored with nothing left unchecked', () => {
    expect(ask({ age: 18 })).toMatchObject({ score: 0, band: { label: 'low' }, applicability: { applicable: true, caveats: [] }, withinValidatedRange: true });
    expect(ask({ age: 120 })).toMatchObject({ score: 1, applicability: { applicable: true, caveats: [] } });
  });

  it('when the age is impossible or not given, then the request is refused by name (422), not declined: the age is scored', () => {
    for (const age of [130, -1, undefined]) expect(refusedFields(() => ask({ age }))).toEqual(['age']);
  });
});
