/**
 * Test support for the Cox-equation risk folders that build_cox_equation.py builds
 * (models/pce-ascvd, models/framingham-cvd-2008, models/china-par): what every such
 * folder's model.test.ts checks, so each test file keeps only what is specific to its
 * equation. One builder, one set of checks.
 *
 * Everything runs through Lantern's own in-process risk runner (registry → evaluateRisk),
 * the path a grassroots doctor's request takes, and is compared with the folder's
 * train/coefficients.json re-evaluated here in float64 and with its
 * evaluation/worked-examples.json.
 *
 *   const folder = coxEquationFolder(here, typical);   // loads the model in beforeAll
 *   describe('… card and weights', () => { itMatchesItsCardAndCoefficients(folder, { source: /…/ }); });
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isRiskModel, loadModel, type RiskModel } from '../../inference/registry.ts';
import { evaluateRisk, type RiskAnswer } from '../../inference/risk.ts';

export interface Coefficient { value: number; source: string }
export interface Equation { id: string; when: Record<string, string[]>; coefficients: Record<string, Coefficient>; meanSum: Coefficient; s10: Coefficient }
export interface Coefficients { features: string[]; terms: { name: string; factors: string[] }[]; equations: Equation[]; units: Record<string, Coefficient> }
export interface WorkedExample {
  id: string;
  origin: string;
  input: Record<string, unknown>;
  expected: {
    publishedPercent?: number; publishedTolerancePp?: number;
    fullPrecisionPercent?: number; fullPrecisionTolerance?: number;
    linearSum?: number; linearSumTolerance?: number; band?: string;
  };
}

/** A person with cholesterol in mg/dL; `body` turns it into the request the API receives. */
export type Profile = Record<string, number | string | boolean>;
type Axes = Record<string, readonly (number | string | boolean)[]>;
type Inputs = RiskAnswer['inputs'];

export interface CoxEquationFolder {
  here: string;
  /** model.json as plain JSON (loading the model checks it against the card schema). */
  card: any;
  coef: Coefficients;
  examples: WorkedExample[];
  /** The person every profile in these tests starts from. */
  typical: Profile;
  /** The model as the registry loads it; available once the suite's beforeAll has run. */
  readonly model: RiskModel;
  body(p: Profile): Record<string, unknown>;
  riskOf(p: Profile): Promise<number>;
  /** The equation of coefficients.json whose `when` the (canonical) inputs select. */
  equationFor(inputs: Inputs): Equation;
  /**
   * Every curve along `axis` over `values`, for every profile of `others` (a grid over
   * the typical person): risk strictly moves in `direction`.
   */
  expectMonotone(axis: string, values: number[], direction: 1 | -1, others: Axes): Promise<void>;
}

const mgdl = new Set(['totalCholesterol', 'hdlCholesterol']);

/**
 * Reads the folder's card, coefficients and worked examples, and loads the model with
 * `loadModel(here, { threads: 1 })` in a beforeAll (released in afterAll), so the card
 * schema, weights hash and graph contract are checked before any test runs.
 */
export function coxEquationFolder(here: string, typical: Profile): CoxEquationFolder {
  const readJson = (file: string) => JSON.parse(readFileSync(join(here, file), 'utf8'));
  const coef: Coefficients = readJson('train/coefficients.json');
  let model: RiskModel | undefined;
  beforeAll(async () => {
    const loaded = await loadModel(here, { threads: 1 });
    if (!isRiskModel(loaded)) throw new Error(`${here} is not a risk model`);
    model = loaded;
  });
  afterAll(async () => { await model?.session.release(); });

  const body = (p: Profile) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, mgdl.has(k) ? { value: v, unit: 'mg/dL' } : v]));
  const folder: CoxEquationFolder = {
    here,
    card: readJson('model.json'),
    coef,
    examples: readJson('evaluation/worked-examples.json').cases,
    typical,
    get model() {
      if (!model) throw new Error(`${here}: the model is not loaded yet (use it inside a test)`);
      return model;
    },
    body,
    riskOf: async (p) => (await evaluateRisk(folder.model, body(p))).risk,
    equationFor(inputs) {
      const eq = coef.equations.find((e) => Object.entries(e.when).every(([feature, values]) => values.includes(String(inputs[feature].value))));
      if (!eq) throw new Error(`no equation for ${JSON.stringify(inputs)}`);
      return eq;
    },
    async expectMonotone(axis, values, direction, others) {
      let curves = 0;
      for (const base of grid(others)) {
        let previous: number | undefined;
        for (const v of values) {
          const risk = await folder.riskOf({ ...typical, ...base, [axis]: v });
          if (previous !== undefined && (risk - previous) * direction <= 0) {
            throw new Error(`risk does not ${direction > 0 ? 'rise' : 'fall'} with ${axis} at ${axis}=${v} for ${JSON.stringify(base)}: ${previous} → ${risk}`);
          }
          previous = risk;
        }
        curves++;
      }
      expect(curves).toBeGreaterThan(0);
    },
  };
  return folder;
}

/** from, from + step, … up to `to` inclusive. */
export const range = (from: number, to: number, step: number) => Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => from + i * step);

export const contributionsByTerm = (answer: RiskAnswer) => Object.fromEntries(answer.contributions.map((c) => [c.term, c.value]));

function* grid(axes: Axes): Generator<Profile> {
  const keys = Object.keys(axes);
  const walk = function* (i: number, acc: Profile): Generator<Profile> {
    if (i === keys.length) { yield { ...acc }; return; }
    for (const v of axes[keys[i]]) yield* walk(i + 1, { ...acc, [keys[i]]: v });
  };
  yield* walk(0, {});
}

/** A term's transformed value: the product of its factors, ln(feature), flag (0/1) or not(flag). */
function termValue(term: { factors: string[] }, inputs: Inputs): number {
  return term.factors.reduce((product, factor) => {
    const [kind, feature] = factor.split(':');
    const v = inputs[feature].value;
    if (kind === 'ln') return product * Math.log(v as number);
    const flag = v === true || v === 1 ? 1 : 0;
    return product * (kind === 'flag' ? flag : 1 - flag);
  }, 1);
}

/**
 * The registry accepts the folder, model.onnx is the file the card names, the card agrees
 * with coefficients.json (features, terms, the mmol/L factor, every number's `source`) and
 * names every worked example it was validated on. The value of the mmol/L factor is the
 * model's own test.
 */
export function itMatchesItsCardAndCoefficients(folder: CoxEquationFolder, expected: { source: RegExp }) {
  const { card, coef, examples, here } = folder;

  it('when the registry loads the folder, then the card, hash and graph contract are accepted', () => {
    expect(folder.model.card.task).toBe('risk');
    expect(folder.model.key).toBe(`${card.id}@${card.version}`);
  });

  it('when model.onnx is hashed, then it is the file the card names', () => {
    const sha = createHash('sha256').update(readFileSync(join(here, card.weights.file))).digest('hex');
    expect(sha).toBe(card.weights.sha256);
    expect(folder.model.sha256).toBe(card.weights.sha256);
  });

  it('when the card and coefficients.json are compared, then features, terms, the mmol/L factor and every source agree', () => {
    expect(card.features.map((f: { name: string }) => f.name)).toEqual(coef.features);
    expect(card.explanation.terms.map((t: { name: string }) => t.name)).toEqual(coef.terms.map((t) => t.name));
    for (const name of ['totalCholesterol', 'hdlCholesterol']) {
      const feature = card.features.find((f: { name: string }) => f.name === name);
      expect(feature.units['mmol/L'].factor).toBe(coef.units.cholesterolMmolPerLToMgPerDl.value);
    }
    for (const eq of coef.equations) {
      for (const c of [...Object.values(eq.coefficients), eq.meanSum, eq.s10]) expect(c.source).toMatch(expected.source);
    }
  });

  it('when the card lists its validation, then every worked example is named', () => {
    const checked = card.validation.checked.map((c: { id: string }) => c.id);
    expect(checked).toEqual(examples.map((e) => e.id));
  });
}

/**
 * One test per worked example: the published and full-precision risks, the linear sum and
 * band where the example gives them (each within its own tolerance, else the defaults), and
 * the card's record of what was checked carries the value this graph gives.
 */
export function itScoresEveryWorkedExample(folder: CoxEquationFolder, defaults: { linearSumTolerance: number }) {
  for (const example of folder.examples) {
    it(`when ${example.id} is scored, then the risk matches (${example.origin})`, async () => {
      const answer = await evaluateRisk(folder.model, example.input);
      const e = example.expected;
      if (e.publishedPercent !== undefined) {
        expect(Math.abs(100 * answer.risk - e.publishedPercent)).toBeLessThanOrEqual((e.publishedTolerancePp ?? 0.1) + 1e-9);
      }
      if (e.fullPrecisionPercent !== undefined) {
        expect(Math.abs(answer.risk - e.fullPrecisionPercent / 100)).toBeLessThanOrEqual(e.fullPrecisionTolerance ?? 1e-4);
      }
      const sum = answer.contributions.reduce((s, c) => s + c.value, 0);
      if (e.linearSum !== undefined) expect(Math.abs(sum - e.linearSum)).toBeLessThanOrEqual(e.linearSumTolerance ?? defaults.linearSumTolerance);
      if (e.band !== undefined) expect(answer.band.label).toBe(e.band);
      const recorded = folder.card.validation.checked.find((c: { id: string }) => c.id === example.id);
      expect(Math.abs(recorded.riskPercent - 100 * answer.risk)).toBeLessThan(5e-4);
    });
  }
}

/**
 * The explanation is exact: on every worked example each contribution is coefficient ×
 * transformed value in the equation the inputs select (zero for the terms it lacks), and
 * Σ contributions − meanSum is the linear predictor the risk implies.
 */
export function itExplainsRiskByExactContributions(folder: CoxEquationFolder) {
  const { coef, examples } = folder;

  it('when any worked example is scored, then each contribution is coefficient × transformed value of the selected equation, zero for its absent terms', async () => {
    for (const example of examples) {
      const answer = await evaluateRisk(folder.model, example.input);
      const eq = folder.equationFor(answer.inputs);
      const got = contributionsByTerm(answer);
      expect(Object.keys(got).sort()).toEqual(coef.terms.map((t) => t.name).sort());
      for (const term of coef.terms) {
        const c = eq.coefficients[term.name];
        const want = c ? c.value * termValue(term, answer.inputs) : 0;
        expect(Math.abs(got[term.name] - want), `${example.id} ${term.name}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want)));
      }
    }
  });

  it('when any worked example is scored, then Σ contributions − meanSum = ln(ln(1 − risk) / ln S10)', async () => {
    for (const example of examples) {
      const answer = await evaluateRisk(folder.model, example.input);
      const eq = folder.equationFor(answer.inputs);
      const linear = answer.contributions.reduce((s, c) => s + c.value, 0) - eq.meanSum.value;
      const implied = Math.log(Math.log(1 - answer.risk) / Math.log(eq.s10.value));
      expect(Math.abs(linear - implied), example.id).toBeLessThan(1e-4);
    }
  });
}

/**
 * For equations with separate ln SBP terms for treated and untreated BP (pce-ascvd,
 * framingham-cvd-2008): for the typical person the term that does not apply contributes
 * exactly 0 and the one that does is positive.
 */
export function itSwitchesSbpTermsWithBpTreatment(folder: CoxEquationFolder) {
  it('when BP is untreated, then the treated-SBP term contributes nothing, and vice versa', async () => {
    const untreated = contributionsByTerm(await evaluateRisk(folder.model, folder.body({ ...folder.typical, onBpTreatment: false })));
    const treated = contributionsByTerm(await evaluateRisk(folder.model, folder.body({ ...folder.typical, onBpTreatment: true })));
    expect(untreated.ln_treated_sbp).toBe(0);
    expect(untreated.ln_untreated_sbp).toBeGreaterThan(0);
    expect(treated.ln_untreated_sbp).toBe(0);
    expect(treated.ln_treated_sbp).toBeGreaterThan(0);
  });
}

/**
 * For equations written in mg/dL that accept mmol/L by an exact factor (the US equations'
 * × 38.67): the card converts with that factor, and a request in mmol/L gets exactly the
 * risk of the same request converted by hand.
 */
export function itConvertsCholesterolFromMmolPerL(folder: CoxEquationFolder, expected: { factor: number }) {
  const { factor } = expected;

  it(`when cholesterol is converted from mmol/L, then the card's factor is ${factor}`, () => {
    for (const name of ['totalCholesterol', 'hdlCholesterol']) {
      expect(folder.card.features.find((f: { name: string }) => f.name === name).units['mmol/L'].factor).toBe(factor);
    }
  });

  it(`when cholesterol comes in mmol/L, then the risk equals the mg/dL request converted with × ${factor}`, async () => {
    const mmol = await evaluateRisk(folder.model, { ...folder.body(folder.typical), totalCholesterol: { value: 5.5, unit: 'mmol/L' }, hdlCholesterol: { value: 1.3, unit: 'mmol/L' } });
    const mg = await evaluateRisk(folder.model, folder.body({ ...folder.typical, totalCholesterol: 5.5 * factor, hdlCholesterol: 1.3 * factor }));
    expect(mmol.inputs.totalCholesterol.value).toBeCloseTo(5.5 * factor, 9);
    expect(mmol.risk).toBe(mg.risk);
  });
}
