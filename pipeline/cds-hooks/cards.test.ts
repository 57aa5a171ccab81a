/**
 * The cards of answers a chart rarely completes in the route test (a risk model needs smoking,
 * diabetes and treatment, which the prefetch does not carry), built here from the real Pooled
 * Cohort Equations model run on the ACC/AHA worked example, and checked with the CDS Hooks 2.0
 * schema and, for the RiskAssessment it suggests recording, with FHIR.js and the R4 schema.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../config.ts';
import { cdsCard } from '../../contract/cds-hooks.ts';
import { isRiskModel, loadModelRegistry, type ModelRegistry } from '../../inference/registry.ts';
import { evaluateRisk } from '../../inference/risk.ts';
import { fhirProblems } from '../../test/support/fhir-validation.ts';
import { derivedUuid, riskCard, summaryOf, type CardContext } from './cards.ts';

const ctx: CardContext = { origin: 'https://lantern.clinic.example', serviceId: 'lantern-patient-view', hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea', actor: 'ehr-client', patientId: 'pat-1' };

describe('CDS Hooks cards', () => {
  let registry: ModelRegistry;
  beforeAll(async () => {
    registry = await loadModelRegistry(path.join(repoRoot, 'models'), { threads: 1 });
  });
  afterAll(() => registry?.close());

  it('when the Pooled Cohort Equations answer for the worked example (white woman, 55), then the card gives its risk, a warning above the low band, and a valid RiskAssessment to record', async () => {
    const model = registry.latest('pce-ascvd')!;
    if (!isRiskModel(model)) throw new Error('pce-ascvd is a risk model');
    const answer = await evaluateRisk(model, {
      age: 55, sex: 'female', race: 'white', totalCholesterol: { value: 213, unit: 'mg/dL' }, hdlCholesterol: { value: 50, unit: 'mg/dL' },
      systolicBp: 120, onBpTreatment: false, smoker: false, diabetes: false,
    });
    const { card, issued } = riskCard(ctx, answer, [{ value: 213, ucum: 'mg/dL', source: 'Total cholesterol 213 mg/dL — 2093-3', reference: 'Observation/chol' }]);
    expect(cdsCard.safeParse(card).success).toBe(true);
    expect(card.summary).toContain(`${answer.riskPercent}% ${answer.horizon}`);
    expect(card.indicator).toBe(answer.band.label === 'low' ? 'info' : 'warning');
    expect(card.detail).toContain('AI-assisted');
    expect(issued).toMatchObject({ kind: 'risk', model: { id: 'pce-ascvd', version: model.card.version } });
    const resource = card.suggestions![0].actions![0].resource!;
    expect(resource).toMatchObject({ resourceType: 'RiskAssessment', basis: [{ reference: 'Observation/chol' }], prediction: [{ probabilityDecimal: answer.risk }] });
    expect(fhirProblems(resource)).toEqual([]);
  });

  it('when a summary would reach 140 characters, then it is cut at a word with an ellipsis', () => {
    const long = `NEWS2 6 (outside validated range): ${'a clinical response text '.repeat(8)}`;
    const cut = summaryOf(long);
    expect(cut.length).toBeLessThan(140);
    expect(cut).toMatch(/^NEWS2 6 \(outside validated range\): .*…$/);
    expect(summaryOf('short')).toBe('short');
  });

  it('when the same name is given, then the same version 5 UUID comes out, and another name gives another', () => {
    expect(derivedUuid('a')).toBe(derivedUuid('a'));
    expect(derivedUuid('a')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(derivedUuid('b')).not.toBe(derivedUuid('a'));
  });
});
