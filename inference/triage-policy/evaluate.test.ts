import { describe, expect, it } from 'vitest';
import { triage as evaluate } from './evaluate.ts';
import { factCatalogue } from './facts.ts';
import { checkPolicy, TriagePolicyError, type TriageCardLike } from './policy.ts';
import { assessedBefore, type AssessedBefore } from './test-support.ts';

/** Two toy score cards that declare the facts the toy policy reads. */
const toyScore = (id: string, mention: string, facts: string[]) => ({
  card: {
    id, title: id.toUpperCase(), titleZh: `${id.toUpperCase()}评分`, version: '1.0.0', task: 'score' as const,
    scoring: { terms: [{ term: 'x', display: 'x', feature: 'x', map: { a: 0 } }] },
    bands: [{ label: 'low', display: 'low', below: 5 }, { label: 'high', display: 'high' }],
    triageFacts: facts.map((name) => ({ name, from: name, meaning: `${id} ${name}` })),
    triageMention: { text: mention },
  },
});
const facts = factCatalogue([toyScore('news2', 'NEWS2 {score} ({band})', ['score', 'band']), toyScore('qsofa', 'qSOFA {score}', ['score'])]);
/** Patients are written as a study's stored assessment (scores by model id), read as the prioritiser reads one. */
const triage = (card: TriageCardLike, input: AssessedBefore) => evaluate(card, assessedBefore(input, facts), facts);

const levels = [
  { level: 'IV', display: 'IV', displayZh: 'Ⅳ级', priority: [0, 20], targetMinutes: 240, aiResultTargetMinutes: 60 },
  { level: 'III', display: 'III', displayZh: 'Ⅲ级', priority: [20, 50], targetMinutes: 30, aiResultTargetMinutes: 15 },
  { level: 'II', display: 'II', displayZh: 'Ⅱ级', priority: [50, 80], targetMinutes: 10, aiResultTargetMinutes: 5 },
  { level: 'I', display: 'I', displayZh: 'Ⅰ级', priority: [80, 100], targetMinutes: 0, aiResultTargetMinutes: 2 },
];
const nothing = { text: 'nothing', textZh: '无', why: 'quiet', whyZh: '平稳' };
const notCalculated = { level: 'III', floor: 22, text: '{score} not calculated: {reason}', textZh: '{score}未计算：{reason}', why: 'no {score}', whyZh: '无{score}' };
const policy = (over: Record<string, unknown> = {}): TriageCardLike => ({
  id: 'toy',
  policy: {
    levels,
    rules: [
      { code: 'big-nodule', when: { finding: { labels: ['nodule'], atLeast: 'positive', minProbability: 0.8 } }, level: 'II', text: 'nodule {finding}', textZh: '结节 {finding}' },
      { code: 'any-finding', when: { finding: { atLeast: 'refer' } }, level: 'III', floor: 30, text: 'finding {finding}', textZh: '发现 {finding}' },
      { code: 'arrest', when: { allOf: [{ fact: 'news2.score', op: 'ge', value: 15 }, { fact: 'qsofa.score', op: 'gt', value: 2 }] }, level: 'I', text: 'NEWS2 {news2.score} qSOFA {qsofa.score}', textZh: 'NEWS2 {news2.score}' },
    ],
    contributions: [{ code: 'n2', fact: 'news2.score', per: 2, max: 6, text: 'NEWS2 +{points}', textZh: 'NEWS2 +{points}' }],
    nothing,
    notCalculated,
    news2Band: 'news2.band',
    ...over,
  },
});
const f = (label: string, probability: number, positive: boolean, refer = false) => ({ label, display: label, probability, positive, refer, modelId: 'm' });

describe('triage', () => {
  it('when a rule has no floor, then the level’s lower bound is its floor', () => {
    const r = triage(policy(), { findings: [f('nodule', 0.9, true)] });
    expect(r).toMatchObject({ level: 'II', priority: 50, levelDisplayZh: 'Ⅱ级' });
    expect(r.reasons.map((x) => [x.code, x.weight])).toEqual([['big-nodule', 50], ['any-finding', 30]]);
    expect(r.reasons[0].text).toBe('nodule nodule p=0.90');
  });

  it('when a finding condition names labels and a minimum probability, then other labels or lower probabilities do not match', () => {
    expect(triage(policy(), { findings: [f('nodule', 0.7, true)] }).level).toBe('III');
    expect(triage(policy(), { findings: [f('mass', 0.95, true)] }).level).toBe('III');
    expect(triage(policy(), { findings: [f('nodule', 0.95, false, true)] }).level).toBe('III');
  });

  it('when a rule matches several findings, then it quotes the most severe one', () => {
    const r = triage(policy(), { findings: [f('mass', 0.99, false, true), f('nodule', 0.6, true)] });
    expect(r.reasons[0].text).toBe('finding nodule p=0.60');
  });

  it('when contributions add up past the level ceiling, then priority is clamped into the level', () => {
    const r = triage(policy(), { news2: { score: 10, band: 'high' } });
    expect(r).toMatchObject({ level: 'IV', priority: 6 });
    const clamped = triage(policy({ contributions: [{ code: 'n2', fact: 'news2.score', per: 5, max: 60, text: 'x', textZh: 'x' }] }), { news2: { score: 10, band: 'high' } });
    expect(clamped.priority).toBe(20);
  });

  it('when a level-I rule holds, then level I and its reason text are filled in', () => {
    const r = triage(policy(), { news2: { score: 16, band: 'high' }, qsofa: { score: 3 } });
    expect(r).toMatchObject({ level: 'I', priority: 86, news2Band: 'high' });
    expect(r.reasons[0].text).toBe('NEWS2 16 qSOFA 3');
    expect(r.why).toBe('NEWS2 16 (high) · qSOFA 3');
  });

  it('when nothing holds, then the nothing reason and why are used', () => {
    const r = triage(policy(), {});
    expect(r.reasons).toEqual([{ code: 'nothing', text: 'nothing', textZh: '无', weight: 0 }]);
    expect(r.why).toBe('quiet');
    expect(r.whyZh).toBe('平稳');
  });

  it('when a finding has a Chinese name, then the Chinese why and reasons use it and say negative and indeterminate in Chinese', () => {
    const named = { ...f('nodule', 0.9, true), displayZh: '结节' };
    const r = triage(policy(), { findings: [named], news2: { score: 3, band: 'low' } });
    expect(r.why).toBe('nodule p=0.90');
    expect(r.whyZh).toBe('结节 p=0.90');
    expect(r.reasons[0].textZh).toBe('结节 结节 p=0.90');
    const quiet = triage(policy({ rules: [] }), { findings: [{ ...f('nodule', 0.4, false), displayZh: '结节' }] });
    expect(quiet.whyZh).toBe('平稳');
    expect(triage(policy(), { findings: [{ ...f('mass', 0.6, false, true), displayZh: '肿块' }] }).whyZh).toBe('肿块 不确定 p=0.60');
    expect(triage(policy(), { findings: [f('mass', 0.6, false, true)] }).whyZh).toBe('mass 不确定 p=0.60');
  });

  it('when a subsuming rule holds, then the subsumed reason is hidden and the priority is what it would be without hiding', () => {
    const rules = [
      { code: 'weak', when: { fact: 'news2.score', op: 'ge', value: 5 }, level: 'III', floor: 45, text: 'weak', textZh: 'weak', subsumedBy: ['strong'] },
      { code: 'strong', when: { fact: 'news2.score', op: 'ge', value: 7 }, level: 'III', floor: 40, text: 'strong', textZh: 'strong' },
    ];
    const r = triage(policy({ rules, contributions: [] }), { news2: { score: 8, band: 'high' } });
    expect(r.reasons.map((x) => x.code)).toEqual(['strong']);
    expect(r.priority).toBe(45);
    expect(triage(policy({ rules, contributions: [] }), { news2: { score: 5, band: 'medium' } }).reasons.map((x) => x.code)).toEqual(['weak']);
  });

  const child = { code: 'OUTSIDE_POPULATION_AGE', text: 'patient age 9 y outside 16–120 y', textZh: '患者年龄 9 岁 不在 16–120 岁之内' };

  it('when a score asked for was declined and nothing else holds, then its reason (both languages) replaces "nothing" and the level is notCalculated\'s', () => {
    const r = triage(policy(), { notApplicable: { news2: child } });
    expect(r).toMatchObject({ level: 'III', priority: 22 });
    expect(r.reasons).toEqual([{ code: 'news2-not-calculated', text: 'NEWS2 not calculated: patient age 9 y outside 16–120 y', textZh: 'NEWS2评分未计算：患者年龄 9 岁 不在 16–120 岁之内', weight: 22 }]);
    expect([r.why, r.whyZh]).toEqual(['no NEWS2', '无NEWS2评分']);
  });

  it('when a declined score comes with stronger reasons, then it is still the first reason and leads the why; the level and priority are the stronger ones', () => {
    const r = triage(policy(), { notApplicable: { news2: child }, qsofa: { score: 1 }, findings: [f('nodule', 0.9, true)] });
    expect(r).toMatchObject({ level: 'II', priority: 50 });
    expect(r.reasons.map((x) => x.code)).toEqual(['news2-not-calculated', 'big-nodule', 'any-finding']);
    expect(r.why).toBe('no NEWS2 · nodule p=0.90');
  });

  it('when a declined score adds to contributions, then the priority is its floor plus them, clamped into its level', () => {
    const declined = triage(policy({ contributions: [{ code: 'q', fact: 'qsofa.score', per: 10, max: 40, text: 'qSOFA +{points}', textZh: 'qSOFA +{points}' }] }), { notApplicable: { news2: child }, qsofa: { score: 2 } });
    expect(declined).toMatchObject({ level: 'III', priority: 42, why: 'no NEWS2 · qSOFA 2' });
    expect(declined.reasons.map((x) => x.code)).toEqual(['news2-not-calculated', 'q']);
  });

  it('when the declined score is one no loaded card gives facts for, then the policy could never have read it and nothing changes', () => {
    expect(triage(policy(), { notApplicable: { 'paediatric-score': child } })).toEqual(triage(policy(), {}));
  });

  it('when a probability is not a number, then that finding is ignored rather than poisoning the max', () => {
    const r = triage(policy(), { findings: [f('nodule', Number.NaN, true)] });
    expect(r.level).toBe('IV');
  });
});

describe('checkPolicy refuses a policy that breaks the contract, naming the problem', () => {
  const rule = { code: 'r', when: { fact: 'news2.score', op: 'ge', value: 5 }, level: 'III', text: 't', textZh: 't' };
  const refusals: [string, Record<string, unknown>, RegExp][] = [
    ['a non-monotone comparison (lt)', { rules: [{ ...rule, when: { fact: 'news2.score', op: 'lt', value: 5 } }] }, /rules\.0\.when/],
    ['an unknown fact', { rules: [{ ...rule, when: { fact: 'news2.total', op: 'ge', value: 5 } }] }, /rules\.0\.when/],
    ['a negative contribution', { contributions: [{ code: 'c', fact: 'qsofa.score', per: -1, max: 3, text: 't', textZh: 't' }] }, /per must be ≥ 0 so that priority stays monotone/],
    ['a floor outside its level', { rules: [{ ...rule, floor: 70 }] }, /rule r floor 70 lies outside level III's range \[20,50\]/],
    ['a gap between levels', { levels: [levels[0], { ...levels[1], priority: [25, 50] }, levels[2], levels[3]] }, /level III starts at 25 but IV ends at 20/],
    ['a rule level the policy does not define', { levels: levels.slice(0, 2), rules: [{ ...rule, level: 'II' }] }, /rule r sets level II, which the policy's levels do not define/],
    ['an unknown placeholder', { rules: [{ ...rule, text: 'NEWS {news}' }] }, /unknown placeholder \{news\}/],
    ['a duplicate code', { rules: [rule, rule] }, /code r is used twice/],
    ['subsumedBy naming no rule', { rules: [{ ...rule, subsumedBy: ['ghost'] }] }, /rule r is subsumed by ghost, which is not a rule/],
    ['no nothing text', { nothing: undefined }, /nothing/],
    ['no Chinese why for nothing', { nothing: { text: 'n', textZh: 'n', why: 'n' } }, /nothing\.whyZh/],
    ['no notCalculated', { notCalculated: undefined }, /notCalculated/],
    ['a notCalculated floor outside its level', { notCalculated: { ...notCalculated, floor: 60 } }, /notCalculated floor 60 lies outside level III's range \[20,50\]/],
    ['a notCalculated text quoting a fact it did not compute', { notCalculated: { ...notCalculated, why: 'no {news2.score}' } }, /notCalculated\.why: unknown placeholder \{news2\.score\}; known: \{score\} \{reason\}/],
    ['a level without a reading target', { levels: [levels[0], { ...levels[1], targetMinutes: undefined }, levels[2], levels[3]] }, /levels\.1\.targetMinutes/],
    ['a more urgent level with a longer target', { levels: [levels[0], levels[1], { ...levels[2], targetMinutes: 60 }, levels[3]] }, /level II may wait 60 min, longer than the less urgent III \(30 min\)/],
    ['a level without an AI result target', { levels: [levels[0], { ...levels[1], aiResultTargetMinutes: undefined }, levels[2], levels[3]] }, /levels\.1\.aiResultTargetMinutes/],
    ['a more urgent level with a longer AI result target', { levels: [levels[0], levels[1], { ...levels[2], aiResultTargetMinutes: 20 }, levels[3]] }, /level II may wait 20 min for its AI result, longer than the less urgent III \(15 min\)/],
    ['an AI result target after the reading target', { levels: [levels[0], { ...levels[1], aiResultTargetMinutes: 40 }, levels[2], levels[3]] }, /level III's AI result target \(40 min\) is after its reading target \(30 min\)/],
  ];
  it.each(refusals)('when the policy has %s', (_name, over, message) => {
    const card = policy(over);
    expect(() => checkPolicy(card, facts)).toThrow(TriagePolicyError);
    expect(() => checkPolicy(card, facts)).toThrow(message);
  });
});
