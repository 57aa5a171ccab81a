/**
 * framingham-cvd-2008: model.onnx is a claim about D'Agostino 2008's general CVD equation,
 * and the card a claim about model.onnx. These tests check both claims through Lantern's own
 * in-process risk runner (registry → evaluateRisk), the path a grassroots doctor's request
 * takes: the worked examples of the reference file, the contributions against
 * train/coefficients.json, the unit handling, the validated-range flags and the shape of
 * the risk surface (monotone in age, SBP, TC and HDL-C everywhere in the validated ranges:
 * this equation has no age interactions).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputValidationError } from '../../inference/features.ts';
import { isRiskModel, loadModel, type RiskModel } from '../../inference/registry.ts';
import { evaluateRisk, type RiskAnswer } from '../../inference/risk.ts';

const here = dirname(fileURLToPath(import.meta.url));
const readJson = (file: string) => JSON.parse(readFileSync(join(here, file), 'utf8'));

interface Coefficient { value: number; source: string }
interface Equation { id: string; when: Record<string, string[]>; coefficients: Record<string, Coefficient>; meanSum: Coefficient; s10: Coefficient }
interface Coefficients { features: string[]; terms: { name: string; factors: string[] }[]; equations: Equation[]; units: Record<string, Coefficient> }
interface WorkedExample {
  id: string;
  origin: string;
  input: Record<string, unknown>;
  expected: {
    publishedPercent?: number; publishedTolerancePp?: number;
    fullPrecisionPercent?: number; fullPrecisionTolerance?: number;
    linearSum?: number; linearSumTolerance?: number; band?: string;
  };
}

const card = readJson('model.json');
const coef: Coefficients = readJson('train/coefficients.json');
const examples: WorkedExample[] = readJson('evaluation/worked-examples.json').cases;

let model: RiskModel;
beforeAll(async () => {
  const loaded = await loadModel(here, { threads: 1 });
  if (!isRiskModel(loaded)) throw new Error(`${here} is not a risk model`);
  model = loaded;
});
afterAll(async () => { await model?.session.release(); });

// ---- the equation, re-evaluated from train/coefficients.json (float64) ----------------

type Inputs = RiskAnswer['inputs'];

function equationFor(inputs: Inputs): Equation {
  const eq = coef.equations.find((e) => Object.entries(e.when).every(([feature, values]) => values.includes(String(inputs[feature].value))));
  if (!eq) throw new Error(`no equation for ${JSON.stringify(inputs)}`);
  return eq;
}

function termValue(term: { factors: string[] }, inputs: Inputs): number {
  return term.factors.reduce((product, factor) => {
    const [kind, feature] = factor.split(':');
    const v = inputs[feature].value;
    if (kind === 'ln') return product * Math.log(v as number);
    const flag = v === true || v === 1 ? 1 : 0;
    return product * (kind === 'flag' ? flag : 1 - flag);
  }, 1);
}

const contributionsByTerm = (answer: RiskAnswer) => Object.fromEntries(answer.contributions.map((c) => [c.term, c.value]));

// ---- request helpers ----------------------------------------------------------------

type Profile = Record<string, number | string | boolean>;
const mgdl = new Set(['totalCholesterol', 'hdlCholesterol']);
/** A profile with cholesterol in mg/dL → the request body the API receives. */
const body = (p: Profile) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, mgdl.has(k) ? { value: v, unit: 'mg/dL' } : v]));
const riskOf = async (p: Profile) => (await evaluateRisk(model, body(p))).risk;

const typical: Profile = {
  age: 55, sex: 'male', totalCholesterol: 213, hdlCholesterol: 50,
  systolicBp: 140, onBpTreatment: false, smoker: false, diabetes: false,
};

function* grid(axes: Record<string, readonly (number | string | boolean)[]>): Generator<Profile> {
  const keys = Object.keys(axes);
  const walk = function* (i: number, acc: Profile): Generator<Profile> {
    if (i === keys.length) { yield { ...acc }; return; }
    for (const v of axes[keys[i]]) yield* walk(i + 1, { ...acc, [keys[i]]: v });
  };
  yield* walk(0, {});
}
const range = (from: number, to: number, step: number) => Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => from + i * step);

/** Every curve along `axis` over `values`, for every profile of `others`: risk strictly moves in `direction`. */
async function expectMonotone(axis: string, values: number[], direction: 1 | -1, others: Record<string, readonly (number | string | boolean)[]>) {
  let curves = 0;
  for (const base of grid(others)) {
    let previous: number | undefined;
    for (const v of values) {
      const risk = await riskOf({ ...typical, ...base, [axis]: v });
      if (previous !== undefined && (risk - previous) * direction <= 0) {
        throw new Error(`risk does not ${direction > 0 ? 'rise' : 'fall'} with ${axis} at ${axis}=${v} for ${JSON.stringify(base)}: ${previous} → ${risk}`);
      }
      previous = risk;
    }
    curves++;
  }
  expect(curves).toBeGreaterThan(0);
}

// ---- the tests ----------------------------------------------------------------------

describe('framingham-cvd-2008 card and weights', () => {
  it('when the registry loads the folder, then the card, hash and graph contract are accepted', () => {
    expect(model.card.task).toBe('risk');
    expect(model.key).toBe(`${card.id}@${card.version}`);
  });

  it('when model.onnx is hashed, then it is the file the card names', () => {
    const sha = createHash('sha256').update(readFileSync(join(here, card.weights.file))).digest('hex');
    expect(sha).toBe(card.weights.sha256);
    expect(model.sha256).toBe(card.weights.sha256);
  });

  it('when the card and coefficients.json are compared, then features, terms and the mmol/L factor agree', () => {
    expect(card.features.map((f: { name: string }) => f.name)).toEqual(coef.features);
    expect(card.explanation.terms.map((t: { name: string }) => t.name)).toEqual(coef.terms.map((t) => t.name));
    for (const name of ['totalCholesterol', 'hdlCholesterol']) {
      const feature = card.features.find((f: { name: string }) => f.name === name);
      expect(feature.units['mmol/L'].factor).toBe(coef.units.cholesterolMmolPerLToMgPerDl.value);
      expect(feature.units['mmol/L'].factor).toBe(38.67);
    }
    for (const eq of coef.equations) {
      for (const c of [...Object.values(eq.coefficients), eq.meanSum, eq.s10]) expect(c.source).toMatch(/D'Agostino 2008/);
    }
  });

  it('when the card lists its validation, then every worked example is named', () => {
    const checked = card.validation.checked.map((c: { id: string }) => c.id);
    expect(checked).toEqual(examples.map((e) => e.id));
  });
});

describe('framingham-cvd-2008 worked examples (RISK-EQUATIONS.md section 2)', () => {
  for (const example of examples) {
    it(`when ${example.id} is scored, then the risk matches (${example.origin})`, async () => {
      const answer = await evaluateRisk(model, example.input);
      const e = example.expected;
      if (e.publishedPercent !== undefined) {
        expect(Math.abs(100 * answer.risk - e.publishedPercent)).toBeLessThanOrEqual((e.publishedTolerancePp ?? 0.1) + 1e-9);
      }
      if (e.fullPrecisionPercent !== undefined) {
        expect(Math.abs(answer.risk - e.fullPrecisionPercent / 100)).toBeLessThanOrEqual(e.fullPrecisionTolerance ?? 1e-4);
      }
      const recorded = card.validation.checked.find((c: { id: string }) => c.id === example.id);
      expect(Math.abs(recorded.riskPercent - 100 * answer.risk)).toBeLessThan(5e-4);
    });
  }
});

describe('framingham-cvd-2008 contributions', () => {
  it('when any worked example is scored, then each contribution is coefficient × transformed value of the sex-specific equation', async () => {
    for (const example of examples) {
      const answer = await evaluateRisk(model, example.input);
      const eq = equationFor(answer.inputs);
      const got = contributionsByTerm(answer);
      expect(Object.keys(got).sort()).toEqual(coef.terms.map((t) => t.name).sort());
      for (const term of coef.terms) {
        const c = eq.coefficients[term.name];
        const want = c ? c.value * termValue(term, answer.inputs) : 0;
        expect(Math.abs(got[term.name] - want), `${example.id} ${term.name}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want)));
      }
    }
  });

  it('when any worked example is scored, then Σ contributions − mean = ln(ln(1 − risk) / ln S0(10))', async () => {
    for (const example of examples) {
      const answer = await evaluateRisk(model, example.input);
      const eq = equationFor(answer.inputs);
      const linear = answer.contributions.reduce((s, c) => s + c.value, 0) - eq.meanSum.value;
      const implied = Math.log(Math.log(1 - answer.risk) / Math.log(eq.s10.value));
      expect(Math.abs(linear - implied), example.id).toBeLessThan(1e-4);
    }
  });

  it('when BP is untreated, then the treated-SBP term contributes nothing, and vice versa', async () => {
    const untreated = contributionsByTerm(await evaluateRisk(model, body({ ...typical, onBpTreatment: false })));
    const treated = contributionsByTerm(await evaluateRisk(model, body({ ...typical, onBpTreatment: true })));
    expect(untreated.ln_treated_sbp).toBe(0);
    expect(untreated.ln_untreated_sbp).toBeGreaterThan(0);
    expect(treated.ln_untreated_sbp).toBe(0);
    expect(treated.ln_treated_sbp).toBeGreaterThan(0);
  });
});

describe('framingham-cvd-2008 units, ranges and bands', () => {
  it('when cholesterol comes in mmol/L, then the risk equals the mg/dL request converted with × 38.67', async () => {
    const mmol = await evaluateRisk(model, { ...body(typical), totalCholesterol: { value: 5.5, unit: 'mmol/L' }, hdlCholesterol: { value: 1.3, unit: 'mmol/L' } });
    const mg = await evaluateRisk(model, body({ ...typical, totalCholesterol: 5.5 * 38.67, hdlCholesterol: 1.3 * 38.67 }));
    expect(mmol.inputs.totalCholesterol.value).toBeCloseTo(5.5 * 38.67, 9);
    expect(mmol.risk).toBe(mg.risk);
  });

  it('when cholesterol has no unit, then the request is refused rather than guessed', async () => {
    await expect(evaluateRisk(model, { ...body(typical), hdlCholesterol: 50 })).rejects.toBeInstanceOf(InputValidationError);
  });

  it('when a value is physiologically impossible, then the request is refused naming the field', async () => {
    const error = await evaluateRisk(model, body({ ...typical, hdlCholesterol: 5 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputValidationError);
    expect((error as InputValidationError).issues.map((i) => i.field)).toEqual(['hdlCholesterol']);
  });

  it('when age is outside 30–74, then the risk is answered but flagged as outside the validated range', async () => {
    const answer = await evaluateRisk(model, body({ ...typical, age: 80 }));
    expect(answer.withinValidatedRange).toBe(false);
    expect(answer.warnings).toEqual([expect.objectContaining({ feature: 'age', code: 'OUTSIDE_VALIDATED_RANGE' })]);
    expect((await evaluateRisk(model, body(typical))).warnings).toEqual([]);
  });

  it('when risk crosses 10 % and 20 %, then the band is low / intermediate / high', async () => {
    const bandOf = async (p: Profile) => (await evaluateRisk(model, body(p))).band.label;
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
