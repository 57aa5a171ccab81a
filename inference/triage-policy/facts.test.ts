import { describe, expect, it } from 'vitest';
import { answerFacts, mentionText, readAssessment, resolveFacts } from './fact-values.ts';
import { factCatalogue, TriageFactError, type FactSourceCard } from './facts.ts';

const bands = [{ label: 'low', display: 'low', below: 0.1 }, { label: 'high', display: 'high' }];
const risk = (id: string, over: Partial<FactSourceCard> = {}) => ({
  card: {
    id, title: id, version: '1.0.0', task: 'risk', bands,
    triageFacts: [{ name: 'risk', from: 'risk', pool: 'risk', meaning: `${id} risk` }, { name: 'band', from: 'band', meaning: 'band' }],
    ...(over.triageFacts ? {} : { triageMention: { text: `${id} {risk} ({band})` } }),
    ...over,
  } as FactSourceCard,
});

describe('triage facts', () => {
  it('when two risk models are in one pool, then risk.max is the higher and {risk} mentions the model that gave it', () => {
    const catalogue = factCatalogue([risk('a'), risk('b')]);
    const facts = resolveFacts(catalogue, { ...answerFacts(catalogue, 'a', { risk: 0.05, band: { label: 'low' } }), ...answerFacts(catalogue, 'b', { risk: 0.3, band: { label: 'high' } }) });
    expect(facts.get('risk.max')).toMatchObject({ value: 0.3, text: '30.0%' });
    expect(mentionText(catalogue, facts, 'risk', 'en')).toBe('b 30.0% (high)');
    expect(facts.get('a.band')).toEqual({ value: 0, text: 'low' });
  });

  it('when a model declares no facts, or one nobody loaded is named, then it gives none', () => {
    const catalogue = factCatalogue([risk('a', { triageFacts: [] })]);
    expect(answerFacts(catalogue, 'a', { risk: 0.5 })).toEqual({});
    expect(readAssessment({ ghost: { score: 9 }, risks: [{ modelId: 'a', risk: 0.5, band: 'high' }] }, catalogue)).toEqual({ facts: {} });
  });

  it('when two versions of a model are loaded, then the newest card says what triage reads', () => {
    const older = risk('a');
    const newer = risk('a', { version: '1.1.0', triageFacts: [{ name: 'risk', from: 'risk', meaning: 'no longer pooled' }] });
    const catalogue = factCatalogue([older, newer]);
    expect([...catalogue.facts.keys()].filter((k) => !k.startsWith('finding.'))).toEqual(['a.risk']);
  });

  it.each([
    ['a pool mixing units', [risk('a'), { card: { id: 'n', title: 'n', version: '1.0.0', task: 'score', scoring: { terms: [{ term: 'x', display: 'x', feature: 'x', map: { a: 0 } }] }, bands, triageFacts: [{ name: 'score', from: 'score', pool: 'risk', meaning: 'x' }] } as FactSourceCard }], /joins pool risk with unit points .* the pool is in probability/],
    ['a pool named like a model', [risk('a'), risk('risk', { triageFacts: [{ name: 'x', from: 'risk', meaning: 'x' }] })], /pool risk is named like a model/],
    ['a model named like the built-in finding source', [risk('finding', { triageFacts: [{ name: 'x', from: 'risk', meaning: 'x' }] })], /the id finding is reserved/],
    ['a mention naming no fact', [risk('a', { triageMention: { text: 'A {percent}' } })], /triageMention uses \{percent\}, which is not one of the card's triage facts/],
    ['a flag reading an output a risk does not have', [risk('a', { triageFacts: [{ name: 'red', when: { output: 'redFlags', op: 'ge', value: 1 }, meaning: 'x' }] })], /triage fact red reads redFlags, which a risk answer does not have/],
  ] as const)('when the cards have %s, then the catalogue refuses them naming it', (_what, models, message) => {
    expect(() => factCatalogue(models as never)).toThrow(TriageFactError);
    expect(() => factCatalogue([...models] as never)).toThrow(message);
  });
});
