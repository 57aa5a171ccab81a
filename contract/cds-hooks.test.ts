/**
 * The CDS Hooks 2.0 schemas are the oracle of every answer the CDS Hooks tests check, so they
 * must themselves say yes to what the specification shows and no to what it forbids. The
 * accepted bodies are the specification's own examples (https://cds-hooks.hl7.org/2.0/:
 * discovery, response, feedback), typed in here; each refusal breaks one stated rule.
 */
import { describe, expect, it } from 'vitest';
import { cdsCard, cdsDiscovery, cdsFeedback, cdsRequest, cdsResponse } from './cds-hooks.ts';

const discovery = {
  services: [
    { hook: 'patient-view', title: 'Static CDS Service Example', description: 'An example of a CDS Service that returns a static set of cards', id: 'static-patient-greeter', prefetch: { patientToGreet: 'Patient/{{context.patientId}}' } },
    { hook: 'order-select', title: 'Order Echo CDS Service', description: 'An example of a CDS Service that simply echoes the order(s) being placed', id: 'order-echo', prefetch: { patient: 'Patient/{{context.patientId}}', medications: 'MedicationRequest?patient={{context.patientId}}' } },
  ],
};

const request = {
  hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea',
  fhirServer: 'http://hooks.smarthealthit.org:9080',
  hook: 'patient-view',
  fhirAuthorization: { access_token: 'some-opaque-fhir-access-token', token_type: 'Bearer', expires_in: 300, scope: 'patient/Patient.read patient/Observation.read', subject: 'cds-service4' },
  context: { userId: 'Practitioner/example', patientId: '1288992', encounterId: '89284' },
  prefetch: { patientToGreet: { resourceType: 'Patient', gender: 'male', birthDate: '1925-12-23', id: '1288992', active: true } },
};

const response = {
  cards: [
    {
      uuid: '4e0a3a1e-3283-4575-ab82-028d55fe2719', summary: 'Example Card', indicator: 'info', detail: 'This is an example card.',
      source: { label: 'Static CDS Service Example', url: 'https://example.com', icon: 'https://example.com/img/icon-100px.png' },
      links: [
        { label: 'Google', url: 'https://google.com', type: 'absolute' },
        { label: 'SMART Example App', url: 'https://smart.example.com/launch', type: 'smart', appContext: '{"session":3456356,"settings":{"module":4235}}' },
      ],
    },
    {
      summary: 'Another card', indicator: 'warning', source: { label: 'Static CDS Service Example' },
      overrideReasons: [
        { code: 'reason-code-provided-by-service', system: 'http://example.org/cds-services/fhir/CodeSystem/override-reasons', display: 'Patient refused' },
        { code: '12354', system: 'http://example.org/cds-services/fhir/CodeSystem/override-reasons', display: 'Contraindicated' },
      ],
    },
  ],
};

const feedback = {
  feedback: [
    { card: '4e0a3a1e-3283-4575-ab82-028d55fe2719', outcome: 'accepted', acceptedSuggestions: [{ id: 'e56e1945-20b3-4393-8503-a1a20fd73152' }], outcomeTimestamp: '2020-12-11T00:00:00Z' },
    { card: 'f6b95768-b1c8-40dc-8385-bf3504b82ffb', outcome: 'overridden', outcomeTimestamp: '2020-12-11T00:00:00Z' },
    { card: '9368d37b-283f-44a0-93ea-547cebab93ed', outcome: 'overridden', overrideReason: { reason: { code: 'd7ecf885', system: 'https://example.com/cds-hooks/override-reason-system' }, userComment: 'A comment entered by the clinician.' }, outcomeTimestamp: '2020-12-11T00:00:00Z' },
  ],
};

const card = response.cards[0];

describe('CDS Hooks 2.0 schemas', () => {
  it('when given the specification\'s own examples, then each is accepted', () => {
    expect(cdsDiscovery.safeParse(discovery).success).toBe(true);
    expect(cdsRequest.safeParse(request).success).toBe(true);
    expect(cdsResponse.safeParse(response).success).toBe(true);
    expect(cdsResponse.safeParse({ cards: [] }).success).toBe(true);
    expect(cdsFeedback.safeParse(feedback).success).toBe(true);
  });

  it.each([
    ['a summary of 140 characters (it must be under 140)', { ...card, summary: 'x'.repeat(140) }],
    ['an indicator outside info, warning, critical', { ...card, indicator: 'danger' }],
    ['no source', { ...card, source: undefined }],
    ['suggestions without selectionBehavior', { ...card, suggestions: [{ label: 'Do it' }] }],
    ['an override reason without display', { ...card, overrideReasons: [{ code: 'x', system: 'urn:x' }] }],
    ['appContext on an absolute link', { ...card, links: [{ label: 'L', url: 'https://x.example', type: 'absolute', appContext: 'ctx' }] }],
    ['a link type outside absolute and smart', { ...card, links: [{ label: 'L', url: 'https://x.example', type: 'relative' }] }],
    ['an empty string (JSON elements SHALL NOT be empty)', { ...card, detail: '' }],
    ['an empty array', { ...card, links: [] }],
    ['a create action without its resource', { ...card, selectionBehavior: 'at-most-one', suggestions: [{ label: 'Do it', actions: [{ type: 'create', description: 'x' }] }] }],
  ])('when a card has %s, then it is refused', (_, bad) => {
    expect(cdsCard.safeParse(bad).success).toBe(false);
  });

  it.each([
    ['an accepted outcome without acceptedSuggestions', { card: 'c', outcome: 'accepted', outcomeTimestamp: '2020-12-11T00:00:00Z' }],
    ['an outcome outside accepted and overridden', { card: 'c', outcome: 'ignored', outcomeTimestamp: '2020-12-11T00:00:00Z' }],
    ['no outcomeTimestamp', { card: 'c', outcome: 'overridden' }],
    ['an overrideReason that is empty', { card: 'c', outcome: 'overridden', overrideReason: {}, outcomeTimestamp: '2020-12-11T00:00:00Z' }],
  ])('when feedback has %s, then it is refused', (_, bad) => {
    expect(cdsFeedback.safeParse({ feedback: [bad] }).success).toBe(false);
  });

  it('when a request lacks hookInstance, or gives fhirAuthorization without fhirServer, then it is refused', () => {
    const { hookInstance: _, ...noInstance } = request;
    expect(cdsRequest.safeParse(noInstance).success).toBe(false);
    const { fhirServer: __, ...noServer } = request;
    expect(cdsRequest.safeParse(noServer).success).toBe(false);
  });
});
