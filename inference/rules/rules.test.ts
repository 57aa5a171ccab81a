import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { bandIndex, bandTableProblems } from './bands.ts';
import { conditionSchema, conditionText, evaluateCondition, namesRead, type Condition } from './conditions.ts';

describe('one condition language', () => {
  const c: Condition<'fact'> = { anyOf: [{ fact: 'a.score', op: 'ge', value: 3 }, { allOf: [{ fact: 'b.flag', op: 'eq', value: 1 }, { fact: 'c.risk', op: 'gt', value: 0.2 }] }] };

  it('when the same condition is written with another key, then each scope parses only its own key', () => {
    expect(conditionSchema('fact').safeParse(c).success).toBe(true);
    expect(conditionSchema('feature').safeParse(c).success).toBe(false);
  });

  it('when a context narrows the comparisons, then the refusal names the allowed ones and why', () => {
    const monotone = conditionSchema('fact', { ops: ['ge', 'gt'], opsReason: 'monotone' });
    const r = monotone.safeParse({ fact: 'a.score', op: 'lt', value: 3 });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toMatch(/op must be one of ge, gt \(monotone\)/);
  });

  it('when a context adds its own atom, then it nests like any condition and the context evaluates it', () => {
    const atom = z.object({ always: z.literal(true) }).strict();
    const schema = conditionSchema('fact', { atom });
    const parsed = schema.parse({ allOf: [{ always: true }, { fact: 'a.score', op: 'ge', value: 1 }] });
    const r = evaluateCondition(parsed, 'fact', { value: () => 2, atom: () => ({ ok: true, matched: ['atom'] }), match: (x) => x.fact });
    expect(r).toEqual({ ok: true, matched: ['atom', 'a.score'] });
  });

  it('when a condition holds, then every comparison that held in a branch that held is matched', () => {
    const values: Record<string, number> = { 'a.score': 4, 'b.flag': 1, 'c.risk': 0.3 };
    const r = evaluateCondition(c, 'fact', { value: (n) => values[n], match: (x) => x.fact });
    expect(r).toEqual({ ok: true, matched: ['a.score', 'b.flag', 'c.risk'] });
    expect(evaluateCondition(c, 'fact', { value: (n) => ({ ...values, 'c.risk': 0.1 })[n], match: (x) => x.fact }).matched).toEqual(['a.score']);
  });

  it('when a value is unknown, then its comparison does not hold; without match hooks anyOf stops at the first that holds', () => {
    expect(evaluateCondition(c, 'fact', { value: () => undefined }).ok).toBe(false);
    const read: string[] = [];
    evaluateCondition(c, 'fact', { value: (n) => { read.push(n); return 5; } });
    expect(read).toEqual(['a.score']);
  });

  it('when text and numbers meet, then eq compares text and an order comparison asks the context', () => {
    const t: Condition<'output'> = { output: 'band', op: 'eq', value: 'high' };
    expect(evaluateCondition(t, 'output', { value: () => 'high' }).ok).toBe(true);
    expect(() => evaluateCondition({ output: 'band', op: 'ge', value: 2 }, 'output', { value: () => 'high', incomparable: () => { throw new Error('no'); } })).toThrow('no');
  });

  it('then it explains itself and lists what it reads', () => {
    expect(conditionText(c, 'fact')).toBe('a.score ≥ 3 or (b.flag = 1 and c.risk > 0.2)');
    expect(namesRead(c, 'fact')).toEqual(['a.score', 'b.flag', 'c.risk']);
  });
});

describe('band tables', () => {
  it('when rows mix upTo and below, then upTo is inclusive, below exclusive, and the last row is open', () => {
    const rows = [{ below: 25 }, { upTo: 30 }, {}];
    expect([24.9, 25, 30, 30.05, 99].map((x) => bandIndex(rows, x))).toEqual([0, 1, 1, 2, 2]);
  });

  it('when card bands are checked, then problems name the band', () => {
    expect(bandTableProblems([{ label: 'low', below: 5 }, { label: 'mid', below: 5 }, { label: 'high' }]).map((p) => p.message))
      .toEqual(["band mid below 5 does not increase on the previous band's 5: this band would be empty"]);
    expect(bandTableProblems([{ label: 'low', below: 5 }, { label: 'low' }]).map((p) => p.message)).toEqual(['two bands share the label low']);
    expect(bandTableProblems([])).toHaveLength(1);
  });
});
