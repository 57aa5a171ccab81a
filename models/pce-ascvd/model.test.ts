/**
 * pce-ascvd: model.onnx is a claim about the published Pooled Cohort Equations, and the
 * card a claim about model.onnx. These tests check both claims through Lantern's own
 * in-process risk runner (registry → evaluateRisk), the path a grassroots doctor's request
 * takes: the worked examples of the reference file, the contributions against
 * train/coefficients.json, the unit handling, the validated-range flags and the shape of
 * the risk surface (monotone where the equation is, and the equation's own known
 * non-monotone corners reproduced rather than hidden).
 *
 * The checks every Cox-equation folder shares live in models/tools/cox-equation-checks.ts
 * (named `it…` below); the rest of this file is what is specific to the PCE.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InputValidationError } from '../../inference/features.ts';
import { evaluateRisk } from '../../inference/risk.ts';
import {
  coxEquationFolder, itConvertsCholesterolFromMmolPerL, itExplainsRiskByExactContributions, itMatchesItsCardAndCoefficients,
  itScoresEveryWorkedExample, itSwitchesSbpTermsWithBpTreatment, range, type Profile,
} from '../tools/cox-equation-checks.ts';

const typical: Profile = {
  age: 55, sex: 'male', race: 'white', totalCholesterol: 213, hdlCholesterol: 50,
  systolicBp: 120, onBpTreatment: false, smoker: false, diabetes: false,
};
const folder = coxEquationFolder(dirname(fileURLToPath(import.meta.url)), typical);
const { body, examples, expectMonotone, riskOf } = folder;

describe('pce-ascvd card and weights', () => {
  itMatchesItsCardAndCoefficients(folder, { source: /Goff 2014 Table A/ });
});

describe('pce-ascvd worked examples (RISK-EQUATIONS.md section 1)', () => {
  itScoresEveryWorkedExample(folder, { linearSumTolerance: 0.001 });

  it('when the Table A white man is scored, then the full-precision 5.38 % is returned, not the printed 5.3 % from rounded intermediates', async () => {
    const answer = await evaluateRisk(folder.model, examples.find((e) => e.id === 'goff-table-a-white-men')!.input);
    expect(answer.risk).toBeCloseTo(0.0538, 3);
    expect(answer.band.label).toBe('borderline');
  });
});

describe('pce-ascvd contributions', () => {
  itExplainsRiskByExactContributions(folder);
  itSwitchesSbpTermsWithBpTreatment(folder);
});

describe('pce-ascvd units, ranges and population', () => {
  itConvertsCholesterolFromMmolPerL(folder, { factor: 38.67 });

  it('when cholesterol has no unit, then the request is refused rather than guessed', async () => {
    await expect(evaluateRisk(folder.model, { ...body(typical), totalCholesterol: 5.5 })).rejects.toBeInstanceOf(InputValidationError);
  });

  it('when a value is physiologically impossible, then the request is refused naming the field', async () => {
    const error = await evaluateRisk(folder.model, body({ ...typical, systolicBp: 400 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputValidationError);
    expect((error as InputValidationError).issues.map((i) => i.field)).toEqual(['systolicBp']);
  });

  it('when age is outside 40–79, then the risk is answered but flagged as outside the validated range', async () => {
    const answer = await evaluateRisk(folder.model, body({ ...typical, age: 35 }));
    expect(answer.withinValidatedRange).toBe(false);
    expect(answer.warnings).toEqual([expect.objectContaining({ feature: 'age', code: 'OUTSIDE_VALIDATED_RANGE' })]);
  });

  it('when race is "other", then the white equation is used and the answer is flagged as outside the validated population', async () => {
    for (const sex of ['female', 'male']) {
      const other = await evaluateRisk(folder.model, body({ ...typical, sex, race: 'other' }));
      const white = await evaluateRisk(folder.model, body({ ...typical, sex, race: 'white' }));
      expect(other.risk).toBe(white.risk);
      expect(other.warnings).toEqual([expect.objectContaining({ feature: 'race', code: 'OUTSIDE_VALIDATED_POPULATION' })]);
      expect(white.warnings).toEqual([]);
    }
  });

  it('when risk crosses 5 %, 7.5 % and 20 %, then the band follows the 2018/2019 ACC/AHA categories', async () => {
    const bandOf = async (p: Profile) => (await evaluateRisk(folder.model, body(p))).band.label;
    expect(await bandOf({ ...typical, sex: 'female' })).toBe('low'); // 2.05 %
    expect(await bandOf(typical)).toBe('borderline'); // 5.38 %
    expect(await bandOf({ ...typical, systolicBp: 150 })).toBe('intermediate');
    expect(await bandOf({ ...typical, age: 60, totalCholesterol: 200, hdlCholesterol: 45, systolicBp: 150, onBpTreatment: true, smoker: true, diabetes: true })).toBe('high'); // 38.04 %
  });
});

describe('pce-ascvd risk surface within the validated ranges', () => {
  const groups = { sex: ['female', 'male'], race: ['white', 'africanAmerican'] } as const;

  it('when SBP rises (90–200), then risk rises, for every equation, treated or not, smoker or not', async () => {
    await expectMonotone('systolicBp', range(90, 200, 10), 1, {
      ...groups, onBpTreatment: [false, true], smoker: [false, true], age: [40, 55, 70, 79], totalCholesterol: [130, 200, 320], hdlCholesterol: [20, 50, 100],
    });
  });

  it('when total cholesterol rises (130–320), then risk rises, for every equation at ages 40–75', async () => {
    await expectMonotone('totalCholesterol', range(130, 320, 20), 1, {
      ...groups, onBpTreatment: [false, true], smoker: [false, true], age: [40, 50, 60, 70, 75], hdlCholesterol: [20, 50, 100], systolicBp: [90, 130, 200],
    });
  });

  it('when HDL-C rises (20–100), then risk falls, for men at all ages and women up to 65', async () => {
    const rest = { race: groups.race, onBpTreatment: [false, true], smoker: [false, true], totalCholesterol: [130, 200, 320], systolicBp: [90, 130, 200] };
    await expectMonotone('hdlCholesterol', range(20, 100, 5), -1, { ...rest, sex: ['male'], age: [40, 50, 60, 70, 79] });
    await expectMonotone('hdlCholesterol', range(20, 100, 5), -1, { ...rest, sex: ['female'], age: [40, 50, 60, 65] });
  });

  it('when age rises (40–79), then risk rises, for men, and for non-smoking women with typical lipids and SBP', async () => {
    await expectMonotone('age', range(40, 79, 3), 1, {
      sex: ['male'], race: groups.race, onBpTreatment: [false, true], smoker: [false, true], totalCholesterol: [130, 200, 320], hdlCholesterol: [20, 50, 100], systolicBp: [90, 130, 200],
    });
    await expectMonotone('age', range(40, 79, 3), 1, {
      sex: ['female'], race: groups.race, onBpTreatment: [false, true], smoker: [false], totalCholesterol: [160, 200, 240], hdlCholesterol: [40, 50, 70], systolicBp: [100, 130, 160],
    });
  });

  // The published equations' age interactions make risk move the "wrong" way in a few
  // corners of the validated ranges. The graph reproduces the published equation; these
  // tests pin the corners so they are documented facts (card limitations), not surprises.
  it('when the published equation is itself non-monotone, then the graph reproduces it (documented in the card)', async () => {
    // white women: ln age × ln TC = −3.114 outweighs ln TC = 13.540 above age ~77
    const ww79 = { ...typical, sex: 'female', age: 79 };
    expect(await riskOf({ ...ww79, totalCholesterol: 320 })).toBeLessThan(await riskOf({ ...ww79, totalCholesterol: 130 }));
    // women: ln age × ln HDL-C is positive, so above ~69 (African-American) / ~75 (white) more HDL-C means more risk
    const aaw75 = { ...typical, sex: 'female', race: 'africanAmerican', age: 75 };
    expect(await riskOf({ ...aaw75, hdlCholesterol: 100 })).toBeGreaterThan(await riskOf({ ...aaw75, hdlCholesterol: 20 }));
    // white women who smoke: ln age × smoker = −1.665; with TC 280 / HDL-C 40 risk is 7.6 % at 40, 7.0 % at 45
    const wws = { ...typical, sex: 'female', smoker: true, totalCholesterol: 280, hdlCholesterol: 40 };
    expect(await riskOf({ ...wws, age: 45 })).toBeLessThan(await riskOf({ ...wws, age: 40 }));
    // African-American women, HDL-C 20, treated SBP 200: ln age × ln SBP = −6.432 dominates; 87 % at 40, 17 % at 79
    const aaw = { ...typical, sex: 'female', race: 'africanAmerican', hdlCholesterol: 20, systolicBp: 200, onBpTreatment: true };
    expect(await riskOf({ ...aaw, age: 79 })).toBeLessThan(await riskOf({ ...aaw, age: 40 }));
  });
});
