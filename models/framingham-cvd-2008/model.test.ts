/**
 * framingham-cvd-2008: model.onnx is a claim about D'Agostino 2008's general CVD equation,
 * and the card a claim about model.onnx. These tests check both claims through Lantern's own
 * in-process risk runner (registry → evaluateRisk), the path a grassroots doctor's request
 * takes: the worked examples of the reference file, the contributions against
 * train/coefficients.json, the unit handling, the validated-range flags and the shape of
 * the risk surface (monotone in age, SBP, TC and HDL-C everywhere in the validated ranges:
 * this equation has no age interactions).
 *
 * The checks every Cox-equation folder shares live in models/tools/cox-equation-checks.ts
 * (named `it…` below); the rest of this file is what is specific to this equation.
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
  age: 55, sex: 'male', totalCholesterol: 213, hdlCholesterol: 50,
  systolicBp: 140, onBpTreatment: false, smoker: false, diabetes: false,
};
const folder = coxEquationFolder(dirname(fileURLToPath(import.meta.url)), typical);
const { body, expectMonotone, riskOf } = folder;

describe('framingham-cvd-2008 card and weights', () => {
  itMatchesItsCardAndCoefficients(folder, { source: /D'Agostino 2008/ });
});

describe('framingham-cvd-2008 worked examples (RISK-EQUATIONS.md section 2)', () => {
  // None of these examples gives a linear sum or band; the tolerance is for the day one does.
  itScoresEveryWorkedExample(folder, { linearSumTolerance: 0.001 });
});

describe('framingham-cvd-2008 contributions', () => {
  itExplainsRiskByExactContributions(folder);
  itSwitchesSbpTermsWithBpTreatment(folder);
});

describe('framingham-cvd-2008 units, ranges and bands', () => {
  itConvertsCholesterolFromMmolPerL(folder, { factor: 38.67 });

  it('when cholesterol has no unit, then the request is refused rather than guessed', async () => {
    await expect(evaluateRisk(folder.model, { ...body(typical), hdlCholesterol: 50 })).rejects.toBeInstanceOf(InputValidationError);
  });

  it('when a value is physiologically impossible, then the request is refused naming the field', async () => {
    const error = await evaluateRisk(folder.model, body({ ...typical, hdlCholesterol: 5 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputValidationError);
    expect((error as InputValidationError).issues.map((i) => i.field)).toEqual(['hdlCholesterol']);
  });

  it('when age is outside 30–74, then the risk is answered but flagged as outside the validated range', async () => {
    const answer = await evaluateRisk(folder.model, body({ ...typical, age: 80 }));
    expect(answer.withinValidatedRange).toBe(false);
    expect(answer.warnings).toEqual([expect.objectContaining({ feature: 'age', code: 'OUTSIDE_VALIDATED_RANGE' })]);
    expect((await evaluateRisk(folder.model, body(typical))).warnings).toEqual([]);
  });

  it('when risk crosses 10 % and 20 %, then the band is low / intermediate / high', async () => {
    const bandOf = async (p: Profile) => (await evaluateRisk(folder.model, body(p))).band.label;
    expect(await bandOf({ ...typical, sex: 'female', systolicBp: 120 })).toBe('low'); // 5.35 %
    expect(await bandOf(typical)).toBe('intermediate'); // 13.53 %
    expect(await bandOf({ ...typical, age: 61, totalCholesterol: 180, hdlCholesterol: 47, systolicBp: 124, smoker: true })).toBe('high'); // 23.39 %
  });
});

describe('framingham-cvd-2008 risk surface within the validated ranges', () => {
  const flags = { sex: ['female', 'male'], onBpTreatment: [false, true], smoker: [false, true], diabetes: [false, true] } as const;

  it('when age rises (30–74), then risk rises, for both sexes and every flag combination', async () => {
    await expectMonotone('age', range(30, 74, 4), 1, { ...flags, totalCholesterol: [100, 200, 400], hdlCholesterol: [20, 50, 100], systolicBp: [90, 140, 200] });
  });

  it('when SBP rises (90–200), then risk rises', async () => {
    await expectMonotone('systolicBp', range(90, 200, 10), 1, { ...flags, age: [30, 50, 74], totalCholesterol: [100, 200, 400], hdlCholesterol: [20, 50, 100] });
  });

  it('when total cholesterol rises (100–400), then risk rises', async () => {
    await expectMonotone('totalCholesterol', range(100, 400, 25), 1, { ...flags, age: [30, 50, 74], hdlCholesterol: [20, 50, 100], systolicBp: [90, 140, 200] });
  });

  it('when HDL-C rises (20–100), then risk falls', async () => {
    await expectMonotone('hdlCholesterol', range(20, 100, 5), -1, { ...flags, age: [30, 50, 74], totalCholesterol: [100, 200, 400], systolicBp: [90, 140, 200] });
  });

  it('when the same person takes BP treatment at the same SBP, then the estimate is higher (treated coefficient is larger)', async () => {
    for (const sex of ['female', 'male']) {
      expect(await riskOf({ ...typical, sex, onBpTreatment: true })).toBeGreaterThan(await riskOf({ ...typical, sex, onBpTreatment: false }));
    }
  });
});
