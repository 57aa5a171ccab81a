/**
 * FINDRISC (8-item form with family history, max 26) against RISK-EQUATIONS.md section 8, through
 * the generic evaluator, and the card's two age limits: adults (the gate) and 35–64 (validated).
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ScoreModel } from '../../inference/registry.ts';
import { evaluateScoreModel, isNotApplicable } from '../../inference/score.ts';
import { evaluateScore } from '../../inference/scores/evaluate.ts';
import { maxScore } from '../../inference/scores/table.ts';
import { loadScoreCard } from '../../inference/scores/test-support.ts';
import { refusedFields } from '../../test/support/refused-fields.ts';

const dir = dirname(fileURLToPath(import.meta.url));
const card = loadScoreCard(dir);
const model: ScoreModel = { card, dir, key: `findrisc@${card.version}`, sha256: 'card' };
const man50 = {
  age: 50, sex: 'male', bmi: 27, waist: 96, physicallyActive: false, dailyVegetables: true,
  antihypertensives: false, highGlucoseHistory: false, familyHistory: 'none',
};
type In = typeof man50;
const score = (o: Partial<In>) => evaluateScore(card, { ...man50, ...o });
const points = (o: Partial<In>, term: string) => score(o).terms.find((t) => t.term === term)!.points;

describe('FINDRISC (8-item form)', () => {
  it('when a 50-year-old man, BMI 27, waist 96, inactive, eats vegetables daily, no BP drugs, no high glucose, no FH, then 2 + 1 + 3 + 2 = 8, slightly elevated', () => {
    const r = score({});
    expect(r.score).toBe(8);
    expect(r.band.label).toBe('slightly-elevated');
    expect(r.band.display).toMatch(/≈4 %/);
    expect(r.terms.filter((t) => t.points > 0).map((t) => [t.term, t.points])).toEqual([['age', 2], ['bmi', 1], ['waist', 3], ['physicalActivity', 2]]);
  });

  it('when a 66-year-old woman, BMI 32, waist 95, inactive, no daily vegetables, on BP drugs, high glucose history, first-degree FH, then 26, the maximum, very high', () => {
    const r = score({ age: 66, sex: 'female', bmi: 32, waist: 95, physicallyActive: false, dailyVegetables: false, antihypertensives: true, highGlucoseHistory: true, familyHistory: 'first-degree' });
    expect(r.score).toBe(26);
    expect(r.band.label).toBe('very-high');
    expect(maxScore(card)).toBe(26);
  });

  it('when a 35-year-old woman, BMI 22, waist 75, active, daily vegetables, then 0, low', () => {
    const r = score({ age: 35, sex: 'female', bmi: 22, waist: 75, physicallyActive: true, dailyVegetables: true });
    expect(r.score).toBe(0);
    expect(r.band.label).toBe('low');
  });

  it('when BMI is exactly 25 or 30, then both score 1 ("25–30"); 24.9 scores 0 and 30.1 scores 3', () => {
    expect([24.9, 25, 30, 30.1].map((bmi) => points({ bmi }, 'bmi'))).toEqual([0, 1, 1, 3]);
  });

  it('when waist sits on the edges, then men 93.9 → 0, 94 → 3, 102 → 3, 102.5 → 4; women 79.9 → 0, 80 → 3, 88 → 3, 88.5 → 4', () => {
    expect([93.9, 94, 102, 102.5].map((waist) => points({ waist }, 'waist'))).toEqual([0, 3, 3, 4]);
    expect([79.9, 80, 88, 88.5].map((waist) => points({ sex: 'female', waist }, 'waist'))).toEqual([0, 3, 3, 4]);
  });

  it('when age sits on the edges, then 44 → 0, 45 → 2, 54 → 2, 55 → 3, 64 → 3, 65 → 4', () => {
    expect([44, 45, 54, 55, 64, 65].map((age) => points({ age }, 'age'))).toEqual([0, 2, 2, 3, 3, 4]);
  });

  it('when family history is second- or first-degree, then it adds 3 or 5', () => {
    expect(['none', 'second-degree', 'first-degree'].map((familyHistory) => points({ familyHistory }, 'familyHistory'))).toEqual([0, 3, 5]);
  });

  it('when totals cross the band edges 7, 12, 15 and 21, then the band changes there', () => {
    const bandAt = (total: number) => card.bands.find((b) => b.below === undefined || total < b.below)!.label;
    expect([6, 7, 11, 12, 14, 15, 20, 21].map(bandAt)).toEqual(['low', 'slightly-elevated', 'slightly-elevated', 'moderate', 'moderate', 'high', 'high', 'very-high']);
    // and through the evaluator: 8 + high glucose 5 = 13 (moderate), + BP drugs 2 = 15 (high)
    expect(score({ highGlucoseHistory: true }).band.label).toBe('moderate');
    expect(score({ highGlucoseHistory: true, antihypertensives: true }).band.label).toBe('high');
  });

  it('when the card names its version, then it says 8-item with family history, maximum 26', () => {
    expect(card.title).toMatch(/8-item.*family history.*26/);
  });
});

/** What a request body gets back: under 18 not applicable; 18 and over scored, flagged outside 35–64. */
describe('FINDRISC requests: adults, validated 35–64', () => {
  const ask = (extra: Record<string, unknown>) => evaluateScoreModel(model, { ...man50, waist: { value: 96, unit: 'cm' }, ...extra });

  it('when the patient is 12, then FINDRISC is not applicable with the reason in both languages, and there is no score, band or range warning', () => {
    const answer = ask({ age: 12 });
    expect(answer.applicability).toEqual({
      applicable: false,
      reason: { code: 'OUTSIDE_POPULATION_AGE', text: 'patient age 12 y outside 18–120 y', textZh: '患者年龄 12 岁 不在 18–120 岁之内' },
      caveats: [],
    });
    expect(answer).not.toHaveProperty('score');
    expect(answer).not.toHaveProperty('warnings');
    expect(isNotApplicable(ask({ age: 17 }))).toBe(true);
  });

  it('when the patient is an adult outside 35–64, then FINDRISC is scored and flagged; inside it, scored unflagged', () => {
    const young = ask({ age: 18 });
    if (isNotApplicable(young)) throw new Error('declined');
    expect(young).toMatchObject({ score: 6, withinValidatedRange: false, applicability: { applicable: true, caveats: [] } });
    expect(young.warnings.map((w) => [w.feature, w.code])).toEqual([['age', 'OUTSIDE_VALIDATED_RANGE']]);
    for (const age of [35, 64]) expect(ask({ age })).toMatchObject({ withinValidatedRange: true, applicability: { applicable: true } });
    expect(ask({ age: 65 })).toMatchObject({ score: 10, withinValidatedRange: false });
  });

  it('when the age is impossible or not given, then the request is refused by name (422), not declined', () => {
    for (const age of [130, -1, undefined]) expect(refusedFields(() => ask({ age }))).toEqual(['age']);
  });
});
