/**
 * china-par: model.onnx is a claim about the China-PAR equations (Yang 2016, as transcribed
 * in RISK-EQUATIONS.md section 9), and the card a claim about model.onnx. These tests check both claims through Lantern's own
 * in-process risk runner (registry → evaluateRisk), the path a grassroots doctor's request
 * takes: the worked examples of the reference file, the contributions against
 * train/coefficients.json, the unit handling, the validated-range flags and the shape of
 * the risk surface (monotone where the equation is, and the men's equation's own
 * non-monotone corner reproduced rather than hidden).
 *
 * The checks every Cox-equation folder shares live in models/tools/cox-equation-checks.ts
 * (named `it…` below); the rest of this file is what is specific to China-PAR.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InputValidationError } from '../../inference/features.ts';
import { evaluateRisk } from '../../inference/risk.ts';
import {
  contributionsByTerm, coxEquationFolder, itExplainsRiskByExactContributions, itMatchesItsCardAndCoefficients,
  itScoresEveryWorkedExample, range, type Coefficient, type Profile,
} from '../tools/cox-equation-checks.ts';

/** The paper's worked-example person. */
const typical: Profile = {
  age: 60, sex: 'male', totalCholesterol: 210, hdlCholesterol: 55, systolicBp: 130, onBpTreatment: false,
  waist: 80, smoker: false, diabetes: true, north: true, urban: true, familyHistory: false,
};
const folder = coxEquationFolder(dirname(fileURLToPath(import.meta.url)), typical);
const { body, coef, expectMonotone, riskOf } = folder;

interface PrintedCoefficient extends Coefficient { printed?: number }

describe('china-par card and weights', () => {
  itMatchesItsCardAndCoefficients(folder, { source: /Yang 2016/ });

  it('when cholesterol is converted from mmol/L, then the factor is the paper\'s ÷ 0.0259', () => {
    for (const name of ['totalCholesterol', 'hdlCholesterol']) {
      expect(folder.card.features.find((f: { name: string }) => f.name === name).units['mmol/L'].factor).toBeCloseTo(1 / 0.0259, 12);
    }
  });

  it('when a full-precision coefficient is used, then it rounds back to the printed one, and women\'s S10 is 0.9851 (not 0.99 or 0.9904)', () => {
    const men = coef.equations.find((e) => e.id === 'men')!;
    const women = coef.equations.find((e) => e.id === 'women')!;
    const full = Object.values(men.coefficients as Record<string, PrintedCoefficient>).filter((c) => c.printed !== undefined);
    expect(full).toHaveLength(6);
    for (const c of full) expect(Math.round(c.value * 100) / 100).toBeCloseTo(c.printed!, 10);
    expect(women.s10.value).toBe(0.9851);
    expect(men.s10.value).toBe(0.9707);
    expect(Object.keys(women.coefficients)).not.toContain('urban');
    expect(Object.keys(women.coefficients)).not.toContain('family_history');
  });
});

describe('china-par worked examples (RISK-EQUATIONS.md section 9)', () => {
  itScoresEveryWorkedExample(folder, { linearSumTolerance: 0.005 });
});

describe('china-par contributions', () => {
  itExplainsRiskByExactContributions(folder);

  it('when BP is untreated, then the treated-SBP pair contributes nothing, and vice versa', async () => {
    for (const sex of ['female', 'male']) {
      const untreated = contributionsByTerm(await evaluateRisk(folder.model, body({ ...typical, sex, onBpTreatment: false })));
      const treated = contributionsByTerm(await evaluateRisk(folder.model, body({ ...typical, sex, onBpTreatment: true })));
      // (a negative coefficient × 0 is −0: compare magnitudes)
      expect([untreated.ln_treated_sbp, untreated.ln_age_x_ln_treated_sbp].map(Math.abs)).toEqual([0, 0]);
      expect(untreated.ln_untreated_sbp).toBeGreaterThan(0);
      expect([treated.ln_untreated_sbp, treated.ln_age_x_ln_untreated_sbp].map(Math.abs)).toEqual([0, 0]);
      expect(treated.ln_treated_sbp).toBeGreaterThan(0);
    }
  });

  it('when the person is a woman, then urban residence and family history change nothing (men-only terms)', async () => {
    const woman = { ...typical, sex: 'female' };
    const base = await evaluateRisk(folder.model, body({ ...woman, urban: false, familyHistory: false }));
    const other = await evaluateRisk(folder.model, body({ ...woman, urban: true, familyHistory: true }));
    expect(other.risk).toBe(base.risk);
    const parts = contributionsByTerm(other);
    expect([parts.urban, parts.family_history, parts.ln_age_x_family_history, parts.ln_age_x_smoker].map(Math.abs)).toEqual([0, 0, 0, 0]);
    // for a (younger) man the same flags matter: family history raises, urban residence lowers the estimate
    const man45 = { ...typical, age: 45 };
    expect(await riskOf({ ...man45, familyHistory: true })).toBeGreaterThan(await riskOf({ ...man45, familyHistory: false }));
    expect(await riskOf({ ...man45, urban: true })).toBeLessThan(await riskOf({ ...man45, urban: false }));
  });
});

describe('china-par units, ranges and bands', () => {
  it('when cholesterol comes in mmol/L (the usual Chinese lab unit), then it is converted with the paper\'s ÷ 0.0259 and gives the mg/dL risk', async () => {
    const mmol = await evaluateRisk(folder.model, { ...body(typical), totalCholesterol: { value: 5.2, unit: 'mmol/L' }, hdlCholesterol: { value: 1.3, unit: 'mmol/L' } });
    const mg = await evaluateRisk(folder.model, body({ ...typical, totalCholesterol: 5.2 / 0.0259, hdlCholesterol: 1.3 / 0.0259 }));
    expect(mmol.inputs.totalCholesterol.value).toBeCloseTo(5.2 / 0.0259, 9);
    expect(mmol.inputs.hdlCholesterol.value).toBeCloseTo(1.3 / 0.0259, 9);
    expect(Math.abs(mmol.risk - mg.risk)).toBeLessThan(1e-7);
    // and not with the US equations' 38.67
    expect(Math.abs((mmol.inputs.totalCholesterol.value as number) - 5.2 * 38.67)).toBeGreaterThan(0.25);
  });

  it('when cholesterol has no unit, then the request is refused rather than guessed', async () => {
    await expect(evaluateRisk(folder.model, { ...body(typical), totalCholesterol: 5.2 })).rejects.toBeInstanceOf(InputValidationError);
  });

  it('when values are physiologically impossible, then the request is refused naming every field', async () => {
    const error = await evaluateRisk(folder.model, body({ ...typical, waist: 20, systolicBp: 300 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputValidationError);
    expect((error as InputValidationError).issues.map((i) => i.field).sort()).toEqual(['systolicBp', 'waist']);
  });

  it('when age is outside 35–74, then the risk is answered but flagged as outside the validated range', async () => {
    const answer = await evaluateRisk(folder.model, body({ ...typical, age: 30 }));
    expect(answer.withinValidatedRange).toBe(false);
    expect(answer.warnings).toEqual([expect.objectContaining({ feature: 'age', code: 'OUTSIDE_VALIDATED_RANGE' })]);
    expect((await evaluateRisk(folder.model, body(typical))).warnings).toEqual([]);
  });

  it('when risk crosses 5 % and 10 %, then the band is 低危 / 中危 / 高危', async () => {
    const bandOf = async (p: Profile) => (await evaluateRisk(folder.model, body(p))).band;
    expect(await bandOf({ ...typical, age: 40 })).toMatchObject({ label: 'low', displayZh: expect.stringContaining('低危') }); // 2.22 %
    expect(await bandOf({ ...typical, age: 50 })).toMatchObject({ label: 'intermediate', displayZh: expect.stringContaining('中危') }); // 5.42 %
    expect(await bandOf(typical)).toMatchObject({ label: 'high', displayZh: expect.stringContaining('高危') }); // 11.04 %
  });
});

describe('china-par risk surface within the validated ranges', () => {
  const flags = { sex: ['female', 'male'], onBpTreatment: [false, true], smoker: [false, true], familyHistory: [false, true] } as const;
  const levels = { age: [35, 50, 65, 74], totalCholesterol: [100, 200, 400], hdlCholesterol: [20, 50, 100], systolicBp: [90, 130, 200] };
  const except = (axis: keyof typeof levels) => Object.fromEntries(Object.entries(levels).filter(([k]) => k !== axis));

  it('when SBP rises (90–200), then risk rises, treated or not', async () => {
    await expectMonotone('systolicBp', range(90, 200, 10), 1, { ...flags, ...except('systolicBp') });
  });

  it('when total cholesterol rises (100–400), then risk rises', async () => {
    await expectMonotone('totalCholesterol', range(100, 400, 25), 1, { ...flags, ...except('totalCholesterol') });
  });

  it('when HDL-C rises (20–100), then risk falls', async () => {
    await expectMonotone('hdlCholesterol', range(20, 100, 5), -1, { ...flags, ...except('hdlCholesterol') });
  });

  it('when age rises (35–74), then risk rises, for women at any SBP and for men with SBP up to 130', async () => {
    await expectMonotone('age', range(35, 74, 3), 1, { ...flags, sex: ['female'], ...except('age') });
    await expectMonotone('age', range(35, 74, 3), 1, { ...flags, sex: ['male'], ...except('age'), systolicBp: [90, 110, 130] });
  });

  // The men's ln age × ln SBP, ln age × smoker and ln age × family-history terms are all
  // negative: for a man on BP treatment who smokes and has a family history, with high
  // SBP, the published equation gives a LOWER risk at older ages. The graph reproduces the
  // published equation; the card's limitations say so.
  it('when the men\'s equation is itself non-monotone in age, then the graph reproduces it (documented in the card)', async () => {
    const man = { ...typical, onBpTreatment: true, smoker: true, familyHistory: true, diabetes: false, systolicBp: 180 };
    expect(await riskOf({ ...man, age: 74 })).toBeLessThan(await riskOf({ ...man, age: 35 }));
  });

  // Same terms, other view: smoking (3.96 − 0.94 ln age) and family history (6.22 − 1.53 ln age)
  // raise a man's estimate only below ~67 and ~58 years; above, the published equation makes
  // them lower it slightly. Reproduced, pinned, and stated in the card's limitations.
  it('when an older man smokes or has a family history, then the published equation lowers his estimate slightly (documented in the card)', async () => {
    for (const flag of ['smoker', 'familyHistory']) {
      expect(await riskOf({ ...typical, age: 40, [flag]: true })).toBeGreaterThan(await riskOf({ ...typical, age: 40, [flag]: false }));
      expect(await riskOf({ ...typical, age: 72, [flag]: true })).toBeLessThan(await riskOf({ ...typical, age: 72, [flag]: false }));
    }
  });
});
