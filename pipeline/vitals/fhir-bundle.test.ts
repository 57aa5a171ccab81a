import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../config.ts';
import { InputValidationError } from '../../inference/features.ts';
import type { ScoreModel } from '../../inference/registry.ts';
import { loadScoreCard } from '../../inference/scores/test-support.ts';
import { readVitalsBundle } from './fhir-bundle.ts';
import { vitalFeatures } from './observations.ts';

const dir = path.join(repoRoot, 'models', 'news2');
const features = vitalFeatures({ card: loadScoreCard(dir), dir, key: 'news2@1.2.0', sha256: 'card' } as ScoreModel);
const LOINC = 'http://loinc.org';
const vitalSigns = [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }];
const subject = { identifier: { value: 'P-100' } };
const quantity = (code: string, value: number, unit: string, extra: object = {}) => ({
  resourceType: 'Observation', status: 'final', category: vitalSigns, code: { coding: [{ system: LOINC, code }] }, subject,
  effectiveDateTime: '2026-12-01T08:00:00Z', valueQuantity: { value, unit, system: 'http://unitsofmeasure.org', code: unit }, device: { identifier: { value: 'watch-7' } }, ...extra,
});
const bundle = (...resources: object[]) => ({ resourceType: 'Bundle', type: 'batch', entry: resources.map((resource) => ({ resource, request: { method: 'POST', url: 'Observation' } })) });
const read = (b: unknown) => readVitalsBundle(b, features, 'home-site', ['home-site', 'other-site']);
const refusal = (b: unknown) => {
  try {
    read(b);
  } catch (error) {
    if (error instanceof InputValidationError) return error.issues;
    throw error;
  }
  throw new Error('accepted');
};

describe('reading a FHIR vital-signs Bundle', () => {
  it('when a Bundle holds LOINC-coded vital signs with UCUM units, then each becomes a reading of the NEWS2 parameter in a unit the card takes', () => {
    const bp = {
      ...quantity('85354-9', 0, 'mm[Hg]'), valueQuantity: undefined,
      component: [
        { code: { coding: [{ system: LOINC, code: '8480-6' }] }, valueQuantity: { value: 118, code: 'mm[Hg]' } },
        { code: { coding: [{ system: LOINC, code: '8462-4' }] }, valueQuantity: { value: 76, code: 'mm[Hg]' } },
      ],
    };
    const acvpu = { ...quantity('67775-7', 0, ''), valueQuantity: undefined, valueCodeableConcept: { coding: [{ system: LOINC, code: 'LA9340-9' }] } };
    const { patients, entries, type } = read(bundle(quantity('9279-1', 18, '/min'), quantity('59408-5', 95, '%'), quantity('8867-4', 88, '/min'), bp, quantity('8310-5', 100.4, '[degF]'), acvpu, quantity('3151-8', 2, 'L/min')));
    expect(type).toBe('batch');
    expect(patients).toHaveLength(1);
    expect(patients[0]).toMatchObject({ siteId: 'home-site', patientId: 'P-100' });
    expect(patients[0].readings.map((r) => [r.parameter, r.value, r.unit])).toEqual([
      ['respiratoryRate', 18, '/min'], ['spo2', 95, '%'], ['pulse', 88, '/min'], ['systolicBp', 118, 'mmHg'], ['temperature', 100.4, '°F'], ['consciousness', 'alert', undefined], ['supplementalOxygen', true, undefined],
    ]);
    expect(patients[0].readings.every((r) => r.deviceId === 'watch-7' && r.source === 'fhir')).toBe(true);
    expect(entries.map((e) => e.readings)).toEqual([1, 1, 1, 1, 1, 1, 1]);
  });

  it('when the subject is a Patient entry referenced by fullUrl with Lantern\'s site identifier, then the reading is filed at that site', () => {
    const b = {
      resourceType: 'Bundle', type: 'transaction', entry: [
        { fullUrl: 'urn:uuid:1b7a', resource: { resourceType: 'Patient', identifier: [{ system: 'urn:lantern:site:other-site:patient-id', value: 'P-9' }] }, request: { method: 'POST', url: 'Patient' } },
        { resource: { ...quantity('8867-4', 70, '/min'), subject: { reference: 'urn:uuid:1b7a' } }, request: { method: 'POST', url: 'Observation' } },
      ],
    };
    const { patients, entries } = read(b);
    expect(patients.map((p) => [p.siteId, p.patientId])).toEqual([['other-site', 'P-9']]);
    expect(entries.map((e) => e.kind)).toEqual(['Patient', 'Observation']);
  });

  it.each([
    ['not vital-signs', { ...quantity('8867-4', 70, '/min'), category: [] }, /category vital-signs/],
    ['no effective time', { ...quantity('8867-4', 70, '/min'), effectiveDateTime: undefined }, /effectiveDateTime/],
    ['no subject', { ...quantity('8867-4', 70, '/min'), subject: undefined }, /no subject/],
    ['an unknown UCUM unit', quantity('8310-5', 310, 'K'), /recorded in "K"/],
    ['a code Lantern does not read', quantity('29463-7', 70, 'kg'), /carries no vital sign Lantern reads/],
    ['entered in error', { ...quantity('8867-4', 70, '/min'), status: 'entered-in-error' }, /status "entered-in-error"/],
    ['another site\'s patient', { ...quantity('8867-4', 70, '/min'), subject: { identifier: { system: 'urn:lantern:site:elsewhere:patient-id', value: 'P-1' } } }, /not one of your sites/],
  ])('when an entry is bad (%s), then the Bundle is refused naming the entry and why', (_, bad, reason) => {
    const issues = refusal(bundle(quantity('8867-4', 70, '/min'), bad));
    expect(issues[0].field).toBe('Bundle.entry[1].resource');
    expect(issues[0].message).toMatch(reason);
  });

  it.each([
    [{ resourceType: 'Observation' }, 'Bundle', /expected a FHIR Bundle/],
    [{ resourceType: 'Bundle', type: 'searchset', entry: [] }, 'Bundle.type', /batch, transaction, collection/],
    [{ resourceType: 'Bundle', type: 'batch', entry: [] }, 'Bundle.entry', /no entries/],
  ])('when the body is not an ingestible Bundle, then it is refused at %s', (b, field, reason) => {
    const [issue] = refusal(b);
    expect(issue.field).toBe(field);
    expect(issue.message).toMatch(reason);
  });
});
