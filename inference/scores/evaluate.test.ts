import { describe, expect, it } from 'vitest';
import { evaluateScore, ScoreInputError } from './evaluate.ts';
import { checkScoring, maxScore, ScoringTableError, type ScoreCardLike } from './table.ts';

const bands = [
  { label: 'low', display: 'Low', below: 3 },
  { label: 'high', display: 'High' },
];

const toy = (scoring: Record<string, unknown>, b = bands): ScoreCardLike => ({ id: 'toy', scoring, bands: b });

const table = toy({
  terms: [
    { term: 'temp', display: 'Temperature', feature: 't', bands: [{ upTo: 35, points: 2 }, { below: 38, points: 0 }, { points: 1 }] },
    { term: 'shock', display: 'Shock', when: { anyOf: [{ feature: 'sbp', op: 'lt', value: 90 }, { allOf: [{ feature: 'sbp', op: 'lt', value: 100 }, { feature: 'onPressors', op: 'eq', value: true }] }] }, points: 3 },
    { term: 'mental', display: 'Mental state', feature: 'mental', map: { alert: 0, confused: 1 } },
    { term: 'sexSpecific', display: 'Waist', select: 'sex', cases: { male: { feature: 'waist', bands: [{ below: 90, points: 0 }, { points: 1 }] }, female: { feature: 'waist', bands: [{ below: 80, points: 0 }, { points: 1 }] } } },
  ],
  bandRules: [
    { when: { anyTermPoints: { op: 'ge', value: 3 } }, band: { label: 'raised', display: 'Raised', above: 'low' }, redFlag: 'single item 3' },
    { when: { feature: 'mental', op: 'eq', value: 'confused' }, atLeast: 'high', because: 'confusion is always high' },
  ],
});
const ok = { t: 37, sbp: 120, onPressors: false, mental: 'alert', sex: 'male', waist: 85 };

describe('evaluateScore', () => {
  it('when inputs hit no row above 0, then the total is 0, the band is the first, and every term is explained', () => {
    const r = evaluateScore(table, ok);
    expect(r.score).toBe(0);
    expect(r.band).toEqual({ label: 'low', display: 'Low' });
    expect(r.terms.map((t) => t.because)).toEqual([
      't 37 in > 35 and < 38 → 0 points',
      'sbp < 90 or (sbp < 100 and onPressors = true) (sbp 120, onPressors false): no → 0 points',
      'mental alert → 0 points',
      'waist 85 in < 90 [sex male] → 0 points',
    ]);
    expect(r.redFlags).toBeUndefined();
  });

  it('when a row says upTo, then its bound is inclusive; when below, exclusive', () => {
    const t = (x: number) => evaluateScore(table, { ...ok, t: x }).terms[0].points;
    expect([t(35), t(35.01), t(37.99), t(38), t(41)]).toEqual([2, 0, 0, 1, 1]);
  });

  it('when conditions nest, then anyOf/allOf combine as written and booleans compare with eq', () => {
    const s = (sbp: number, onPressors: boolean) => evaluateScore(table, { ...ok, sbp, onPressors }).terms[1].points;
    expect([s(89, false), s(95, false), s(95, true), s(100, true)]).toEqual([3, 0, 3, 0]);
  });

  it('when a term is selected by another feature, then each case has its own table', () => {
    expect(evaluateScore(table, { ...ok, sex: 'female', waist: 85 }).terms[3].points).toBe(1);
    expect(evaluateScore(table, { ...ok, sex: 'male', waist: 85 }).terms[3].points).toBe(0);
  });

  it('when one term scores 3 with a low total, then a band rule raises the band and names a red flag', () => {
    const r = evaluateScore(table, { ...ok, sbp: 80 });
    expect(r.score).toBe(3);
    expect(r.band.label).toBe('high'); // total 3 is already past "raised"
    expect(r.band.rule).toBeUndefined();
    const low = toy(table.scoring, [{ label: 'low', display: 'Low', below: 4 }, { label: 'high', display: 'High' }]);
    const raised = evaluateScore(low, { ...ok, sbp: 80 });
    expect(raised.band).toEqual({ label: 'raised', display: 'Raised', rule: 'single item 3' });
    expect(raised.redFlags).toEqual(['single item 3 (Shock: 3)']);
  });

  it('when a band rule is a feature condition with atLeast, then it raises to that card band without a red flag', () => {
    const r = evaluateScore(table, { ...ok, mental: 'confused' });
    expect(r.score).toBe(1);
    expect(r.band).toMatchObject({ label: 'high', rule: 'confusion is always high' });
    expect(r.redFlags).toBeUndefined();
  });

  it('when a boolean arrives as 0/1, then maps and selections still find it', () => {
    const card = toy({ terms: [{ term: 'fh', display: 'FH', feature: 'fh', map: { true: 6, false: 0 } }] });
    expect(evaluateScore(card, { fh: 1 }).score).toBe(6);
    expect(evaluateScore(card, { fh: true }).score).toBe(6);
    expect(evaluateScore(card, { fh: false }).score).toBe(0);
  });

  it('when an input is missing or has no row, then it throws ScoreInputError naming it', () => {
    const { t: _t, ...noT } = ok;
    expect(() => evaluateScore(table, noT)).toThrow(ScoreInputError);
    expect(() => evaluateScore(table, noT)).toThrow(/input t is missing/);
    expect(() => evaluateScore(table, { ...ok, mental: 'coma' })).toThrow(/mental = coma has no points.*alert, confused/);
    expect(() => evaluateScore(table, { ...ok, sex: 'other' })).toThrow(/sex = other selects no rule/);
    expect(() => evaluateScore(table, { ...ok, t: Number.NaN })).toThrow(/input t is missing/);
  });

  it('when a selection has a default case, then unknown selector values use it', () => {
    const card = toy({ terms: [{ term: 'w', display: 'W', select: 'sex', default: 'female', cases: { male: { feature: 'w', map: { a: 1 } }, female: { feature: 'w', map: { a: 2 } } } }] });
    expect(evaluateScore(card, { sex: 'unknown', w: 'a' }).score).toBe(2);
  });

  it('when asked for the maximum, then selections take their highest case', () => {
    expect(maxScore(table)).toBe(2 + 3 + 1 + 1);
  });
});

describe('checkScoring refuses a bad table at start, naming the problem', () => {
  const refusals: [string, ScoreCardLike, RegExp][] = [
    ['bands out of order', toy({ terms: [{ term: 'a', display: 'A', feature: 'a', bands: [{ upTo: 10, points: 0 }, { upTo: 5, points: 1 }, { points: 2 }] }] }), /terms\.0.*band bound 5 does not ascend after 10/],
    ['a closed last band', toy({ terms: [{ term: 'a', display: 'A', feature: 'a', bands: [{ upTo: 10, points: 0 }, { upTo: 20, points: 1 }] }] }), /last band must be open/],
    ['an open middle band', toy({ terms: [{ term: 'a', display: 'A', feature: 'a', bands: [{ points: 0 }, { points: 1 }] }] }), /only the last band may be open/],
    ['a row with both bounds', toy({ terms: [{ term: 'a', display: 'A', feature: 'a', bands: [{ upTo: 1, below: 2, points: 0 }, { points: 1 }] }] }), /either upTo or below/],
    ['an unknown op', toy({ terms: [{ term: 'a', display: 'A', when: { feature: 'a', op: 'gte', value: 1 }, points: 1 }] }), /term a is not a band table, map, condition or selection/],
    ['a term with no rule', toy({ terms: [{ term: 'a', display: 'A' }] }), /term a is not a band table/],
    ['a duplicate term', toy({ terms: [{ term: 'a', display: 'A', feature: 'a', map: { x: 1 } }, { term: 'a', display: 'A', feature: 'b', map: { x: 1 } }] }), /term a appears twice/],
    ['a band rule naming no band', toy({ terms: [{ term: 'a', display: 'A', feature: 'a', map: { x: 1 } }], bandRules: [{ when: { anyTermPoints: { op: 'ge', value: 1 } }, atLeast: 'amber' }] }), /names "amber", which is not one of the bands \[low, high\]/],
    ['a rule band placed above no band', toy({ terms: [{ term: 'a', display: 'A', feature: 'a', map: { x: 1 } }], bandRules: [{ when: { anyTermPoints: { op: 'ge', value: 1 } }, band: { label: 'amber', display: 'A', above: 'green' } }] }), /names "green"/],
    ['a rule band that duplicates a card band', toy({ terms: [{ term: 'a', display: 'A', feature: 'a', map: { x: 1 } }], bandRules: [{ when: { anyTermPoints: { op: 'ge', value: 1 } }, band: { label: 'high', display: 'H', above: 'low' } }] }), /defines band "high", which card.bands already has/],
    ['a band rule with both atLeast and band', toy({ terms: [{ term: 'a', display: 'A', feature: 'a', map: { x: 1 } }], bandRules: [{ when: { anyTermPoints: { op: 'ge', value: 1 } }, atLeast: 'high', band: { label: 'amber', display: 'A', above: 'low' } }] }), /exactly one of atLeast or band/],
    ['two card bands with the same below', toy({ terms: [{ term: 'a', display: 'A', feature: 'a', map: { x: 1 } }] }, [{ label: 'a', display: 'A', below: 3 }, { label: 'b', display: 'B', below: 3 }, { label: 'c', display: 'C' }]), /band b below 3 does not increase/],
    ['a closed last card band', toy({ terms: [{ term: 'a', display: 'A', feature: 'a', map: { x: 1 } }] }, [{ label: 'low', display: 'Low', below: 3 }]), /last band \(low\) must be open/],
    ['card bands out of order', toy({ terms: [{ term: 'a', display: 'A', feature: 'a', map: { x: 1 } }] }, [{ label: 'a', display: 'A', below: 5 }, { label: 'b', display: 'B', below: 3 }, { label: 'c', display: 'C' }]), /band b below 3 does not increase on the previous band's 5/],
    ['a selection default that is not a case', toy({ terms: [{ term: 'a', display: 'A', select: 's', default: 'z', cases: { x: { feature: 'a', map: { q: 1 } } } }] }), /default names a case that does not exist/],
  ];
  it.each(refusals)('when the table has %s', (_name, card, message) => {
    expect(() => checkScoring(card)).toThrow(ScoringTableError);
    expect(() => checkScoring(card)).toThrow(message);
  });

  it('when the table reads a feature the card does not declare, then it names it', () => {
    expect(() => checkScoring(table, ['t', 'sbp', 'mental', 'sex', 'waist'])).toThrow(/scoring reads onPressors, which the card's features do not declare/);
    expect(() => checkScoring(table, ['t', 'sbp', 'onPressors', 'mental', 'sex', 'waist'])).not.toThrow();
  });
});
