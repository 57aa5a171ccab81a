import { describe, expect, it } from 'vitest';
import { canonicalInputs, InputValidationError, inputJsonSchema } from './features.ts';
import { featureSpec, type FeatureSpec } from './model-card.ts';

const features: FeatureSpec[] = [
  { name: 'age', display: 'Age', kind: 'number', unit: 'years', accept: [18, 110], validated: [40, 79] },
  { name: 'sex', display: 'Sex', kind: 'enum', values: ['female', 'male'], encoding: { female: 0, male: 1 } },
  { name: 'race', display: 'Race', kind: 'enum', values: ['white', 'african-american', 'other'], validatedValues: ['white', 'african-american'], encoding: { white: 0, 'african-american': 1, other: 0 } },
  { name: 'totalCholesterol', display: 'Total cholesterol', kind: 'number', unit: 'mg/dL', units: { 'mg/dL': { factor: 1 }, 'mmol/L': { factor: 38.67 } }, accept: [50, 500] },
  { name: 'temperature', display: 'Temperature', kind: 'number', unit: '°C', units: { '°C': { factor: 1 }, '°F': { factor: 5 / 9, offset: -160 / 9 } }, accept: [25, 45] },
  { name: 'smoker', display: 'Smoker', kind: 'boolean', required: false, default: false },
].map((f) => featureSpec.parse(f));

const valid = { age: 55, sex: 'male', race: 'white', totalCholesterol: { value: 5.5, unit: 'mmol/L' }, temperature: { value: 98.6, unit: '°F' } };

function issuesOf(body: unknown) {
  try {
    canonicalInputs(features, body);
  } catch (error) {
    if (error instanceof InputValidationError) return error.issues;
    throw error;
  }
  throw new Error('expected an InputValidationError');
}

describe('canonical inputs from a model card', () => {
  it('when units are given, then values are converted to the canonical unit and encoded in card order', () => {
    const { values, vector, warnings } = canonicalInputs(features, valid);
    expect(values.totalCholesterol).toBeCloseTo(212.685, 6);
    expect(values.temperature).toBeCloseTo(37, 6);
    expect(Array.from(vector)).toEqual([55, 1, 0, Math.fround(212.685), Math.fround(37), 0]);
    expect(warnings).toEqual([]);
  });

  it('when the same cholesterol comes in mmol/L or mg/dL, then the canonical value is the same', () => {
    const mmol = canonicalInputs(features, valid).values.totalCholesterol;
    const mg = canonicalInputs(features, { ...valid, totalCholesterol: { value: 5.5 * 38.67, unit: 'mg/dL' } }).values.totalCholesterol;
    expect(mg).toBeCloseTo(mmol as number, 9);
  });

  it('when a multi-unit number comes without a unit, then it is refused rather than guessed', () => {
    expect(issuesOf({ ...valid, totalCholesterol: 5.5 })).toEqual([{ field: 'totalCholesterol', message: expect.stringMatching(/give the unit explicitly/) }]);
  });

  it('when several fields are wrong, then every one is named', () => {
    const issues = issuesOf({ age: 150, sex: 'unknown', race: 'white', totalCholesterol: { value: 5, unit: 'g/L' }, temperature: 'hot', colour: 'blue' });
    expect(issues.map((i) => i.field).sort()).toEqual(['age', 'colour', 'sex', 'temperature', 'totalCholesterol']);
    expect(issues.find((i) => i.field === 'age')!.message).toMatch(/outside the possible range 18–110 years/);
    expect(issues.find((i) => i.field === 'totalCholesterol')!.message).toMatch(/unit "g\/L" is not accepted/);
  });

  it('when a required field is missing, then it is named with what is expected', () => {
    const { sex: _omitted, ...rest } = valid;
    expect(issuesOf(rest)).toEqual([{ field: 'sex', message: 'required (one of female, male)' }]);
  });

  it('when an input is outside the validated range or population, then it is answered with a warning', () => {
    const { warnings } = canonicalInputs(features, { ...valid, age: 35, race: 'other' });
    expect(warnings.map((w) => [w.feature, w.code])).toEqual([['age', 'OUTSIDE_VALIDATED_RANGE'], ['race', 'OUTSIDE_VALIDATED_POPULATION']]);
    expect(warnings[0].message).toMatch(/Age 35 years is outside the range the model was validated on \(40–79 years\)/);
  });

  it('when the body is not an object, then it is refused', () => {
    expect(issuesOf([1, 2])).toEqual([{ field: '(body)', message: 'expected a JSON object of inputs' }]);
  });

  it('when the schema is generated, then it lists required fields, units and ranges', () => {
    const schema = inputJsonSchema(features) as { required: string[]; properties: Record<string, Record<string, unknown>> };
    expect(schema.required).toEqual(['age', 'sex', 'race', 'totalCholesterol', 'temperature']);
    expect(schema.properties.totalCholesterol).toMatchObject({ 'x-canonical-unit': 'mg/dL', properties: { unit: { enum: ['mg/dL', 'mmol/L'] } } });
    expect(schema.properties.age).toMatchObject({ 'x-validated-range': [40, 79] });
  });
});
