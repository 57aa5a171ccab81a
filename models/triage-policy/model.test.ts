/**
 * The shipped triage policy on realistic cases, and its promise that more severe inputs never
 * lower the priority (property test over random cases with a seeded generator).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { modelCardSchema, type TriageCard } from '../../inference/model-card.ts';
import { triage as evaluate } from '../../inference/triage-policy/evaluate.ts';
import { checkPolicy } from '../../inference/triage-policy/policy.ts';
import { assessedBefore, shippedFactCatalogue, type AssessedBefore } from '../../inference/triage-policy/test-support.ts';
import { seededRandom } from '../../inference/seeded-random.ts';

const here = dirname(fileURLToPath(import.meta.url));
const parsed = modelCardSchema.parse(JSON.parse(readFileSync(join(here, 'model.json'), 'utf8')));
if (parsed.task !== 'triage') throw new Error('triage-policy card is not task triage');
const card: TriageCard = parsed;
/** The facts the shipped score and risk cards declare: what the registry checks the policy against. */
const facts = shippedFactCatalogue();
checkPolicy(card, facts);

/** Patients are written as a study's stored assessment (scores by model id); read as the prioritiser reads one. */
type TriageInput = AssessedBefore & { news2?: { score: number; band: string; redFlags?: string[] }; qsofa?: { score: number }; curb65?: { score: number }; risks?: { modelId: string; risk: number; band: string }[] };
const triage = (c: TriageCard, input: TriageInput) => evaluate(c, assessedBefore(input, facts), facts);

const pneumonia = (probability: number, positive = true, refer = false) => ({
  label: 'pneumonia', display: 'Pneumonia', probability, positive, refer, modelId: 'pneumonia-cxr@1.0.0',
});
const LEVEL_RANK = { IV: 0, III: 1, II: 2, I: 3 } as const;
/** NEWS2's reason for declining a 9-year-old, as its card gives it (inference/applicability.ts). */
const underSixteen = { code: 'OUTSIDE_POPULATION_AGE', text: 'patient age 9 y outside 16–120 y', textZh: '患者年龄 9 岁 不在 16–120 岁之内' };

describe('triage policy: realistic cases', () => {
  it('when a radiograph shows pneumonia p=0.91 and NEWS2 is 7 (high), then level II with both in the why', () => {
    const r = triage(card, { findings: [pneumonia(0.91)], news2: { score: 7, band: 'high' } });
    expect(r.level).toBe('II');
    expect(r.levelDisplayZh).toMatch(/Ⅱ级 危重/);
    expect(r.news2Band).toBe('high');
    expect(r.why).toBe('pneumonia p=0.91 · NEWS2 7 (high)');
    expect(r.reasons[0].code).toBe('pneumonia-news2-high');
    expect(r.reasons[0].text).toMatch(/pneumonia p=0\.91 with NEWS2 7 \(high\)/);
    expect(r.priority).toBeGreaterThanOrEqual(68);
    expect(r.priority).toBeLessThanOrEqual(85);
  });

  it('when the finding carries its Chinese name, then the Chinese why names it in Chinese', () => {
    const r = triage(card, { findings: [{ ...pneumonia(0.91), displayZh: '肺炎' }], news2: { score: 7, band: 'high' } });
    expect(r.whyZh).toBe('肺炎 p=0.91 · NEWS2 7 (high)');
    expect(r.reasons[0].textZh).toMatch(/^AI发现 肺炎 p=0\.91，NEWS2 7分/);
    expect(triage(card, {}).whyZh).toBe('无紧急发现或评分');
  });

  it('then the reading targets are the emergency triage standard\'s waiting targets: I immediately, II 10, III 30, IV 240 minutes', () => {
    const targets = Object.fromEntries(checkPolicy(card, facts).levels.map((l) => [l.level, l.targetMinutes]));
    expect(targets).toEqual({ I: 0, II: 10, III: 30, IV: 240 });
  });

  it('then the AI result targets are I 2, II 5, III 15, IV 60 minutes, each before its level\'s reading target where it has one', () => {
    const levels = checkPolicy(card, facts).levels;
    expect(Object.fromEntries(levels.map((l) => [l.level, l.aiResultTargetMinutes]))).toEqual({ I: 2, II: 5, III: 15, IV: 60 });
    for (const l of levels.filter((x) => x.targetMinutes > 0)) expect(l.aiResultTargetMinutes).toBeLessThan(l.targetMinutes);
  });

  it('when pneumonia is positive and qSOFA is 2 with a medium NEWS2, then level II, ranked above the same qSOFA without pneumonia', () => {
    const withPneumonia = triage(card, { findings: [pneumonia(0.95)], qsofa: { score: 2 }, news2: { score: 5, band: 'medium' } });
    const without = triage(card, { qsofa: { score: 2 }, news2: { score: 5, band: 'medium' } });
    expect(withPneumonia.level).toBe('II');
    expect(without.level).toBe('II');
    expect(withPneumonia.priority).toBeGreaterThan(without.priority);
    expect(withPneumonia.why).toBe('pneumonia p=0.95 · qSOFA 2 · NEWS2 5 (medium)');
  });

  it('when CURB-65 is 3, then level II with the severe-pneumonia reason first', () => {
    const r = triage(card, { curb65: { score: 3 } });
    expect(r.level).toBe('II');
    expect(r.reasons[0]).toMatchObject({ code: 'curb65-severe', weight: 64 });
    expect(r.reasons[0].textZh).toMatch(/CURB-65 3分/);
    expect(r.why).toBe('CURB-65 3');
  });

  it('when NEWS2 is 5–6 or has a red score, then at least level III, medium above red score', () => {
    const medium = triage(card, { news2: { score: 5, band: 'medium' } });
    const red = triage(card, { news2: { score: 3, band: 'low-medium', redFlags: ['red score: a single parameter scoring 3 (Consciousness: 3)'] } });
    expect(medium.level).toBe('III');
    expect(red.level).toBe('III');
    expect(red.reasons[0].code).toBe('news2-red-score');
    expect(medium.priority).toBeGreaterThan(red.priority);
    expect(red.why).toBe('NEWS2 3 (low-medium)');
  });

  it('when NEWS2 is 4 with no red score, then level IV', () => {
    const r = triage(card, { news2: { score: 4, band: 'low' } });
    expect(r.level).toBe('IV');
    expect(r.reasons[0].code).toBe('nothing');
  });

  it('when the only thing known is a positive finding, then level III; an indeterminate finding is III with lower priority', () => {
    const positive = triage(card, { findings: [pneumonia(0.96)] });
    const refer = triage(card, { findings: [pneumonia(0.6, false, true)] });
    expect(positive.level).toBe('III');
    expect(refer.level).toBe('III');
    expect(refer.priority).toBeLessThan(positive.priority);
    expect(refer.why).toBe('pneumonia indeterminate p=0.60');
    expect(positive.why).toBe('pneumonia p=0.96');
  });

  it('when nothing is known, or only negative findings, then level IV; the more suspicious negative ranks a little higher', () => {
    const empty = triage(card, {});
    expect(empty).toMatchObject({ level: 'IV', priority: 0, why: 'no urgent finding or score' });
    expect(empty.news2Band).toBeUndefined();
    const low = triage(card, { findings: [pneumonia(0.1, false)] });
    const higher = triage(card, { findings: [pneumonia(0.8, false)] });
    expect(low.level).toBe('IV');
    expect(higher.priority).toBeGreaterThan(low.priority);
    expect(higher.why).toBe('no urgent finding or score · pneumonia p=0.80 (negative)');
  });

  it('when NEWS2 was asked for a child and declined, then the first reason says so in both languages and the level is III, not IV', () => {
    const r = triage(card, { notApplicable: { news2: underSixteen } });
    expect(r).toMatchObject({ level: 'III', priority: 26 });
    expect(r.reasons.map((x) => x.code)).toEqual(['news2-not-calculated']);
    expect(r.reasons[0].text).toBe('NEWS2 (National Early Warning Score 2) not calculated: patient age 9 y outside 16–120 y. The measurements given for it are in no score here, so this level does not reflect them: assess them clinically, with a score made for this patient (for a child, a paediatric early warning score such as PEWS)');
    expect(r.reasons[0].textZh).toMatch(/^国家早期预警评分2（NEWS2）未计算：患者年龄 9 岁 不在 16–120 岁之内。.*PEWS/);
    expect(r.why).toBe('NEWS2 (National Early Warning Score 2) not calculated: patient age 9 y outside 16–120 y');
    expect(r.whyZh).toBe('国家早期预警评分2（NEWS2）未计算：患者年龄 9 岁 不在 16–120 岁之内');
  });

  it('when NEWS2 was declined for a child with evidence of illness, then that evidence sets the level and the declined score is still the first reason', () => {
    const refer = triage(card, { findings: [pneumonia(0.6, false, true)], notApplicable: { news2: underSixteen } });
    expect(refer).toMatchObject({ level: 'III', priority: 29.2 });
    expect(refer.reasons.map((x) => x.code).slice(0, 2)).toEqual(['news2-not-calculated', 'finding-refer']);
    expect(refer.why).toBe('NEWS2 (National Early Warning Score 2) not calculated: patient age 9 y outside 16–120 y · pneumonia indeterminate p=0.60');
    const septic = triage(card, { findings: [pneumonia(0.95)], qsofa: { score: 2 }, notApplicable: { news2: underSixteen } });
    expect(septic.level).toBe('II');
    expect(septic.reasons[0].code).toBe('news2-not-calculated');
    expect(septic.reasons[1].code).toBe('pneumonia-qsofa-positive');
  });

  it('when a chronic CVD risk is high, then it nudges the priority a little but never changes the level', () => {
    const base = triage(card, { findings: [pneumonia(0.2, false)] });
    const risky = triage(card, { findings: [pneumonia(0.2, false)], risks: [{ modelId: 'pce-ascvd', risk: 0.35, band: 'high' }] });
    expect(risky.level).toBe('IV');
    expect(risky.priority - base.priority).toBeGreaterThan(0);
    expect(risky.priority - base.priority).toBeLessThanOrEqual(2);
    expect(risky.reasons.map((r) => r.code)).toContain('chronic-risk');
  });

  it('when a very sick patient has everything at once, then level II is kept (level I is never assigned automatically) and priority stays in 0–100', () => {
    const r = triage(card, { findings: [pneumonia(0.99)], news2: { score: 20, band: 'high', redFlags: ['x'] }, qsofa: { score: 3 }, curb65: { score: 5 } });
    expect(r.level).toBe('II');
    expect(r.priority).toBe(85);
    expect(r.reasons.slice(0, 5).map((x) => x.code)).toEqual(['pneumonia-news2-high', 'pneumonia-qsofa-positive', 'curb65-severe', 'news2-high', 'qsofa-positive']);
    expect(r.reasons.map((x) => x.code)).not.toContain('finding-positive');
  });

  it('when a stronger rule says the same thing, then the weaker reason is not listed but the level and priority are unchanged', () => {
    const high = triage(card, { news2: { score: 7, band: 'high', redFlags: ['r'] } });
    expect(high.reasons.filter((x) => x.weight > 10).map((x) => x.code)).toEqual(['news2-high']);
    const positive = triage(card, { findings: [pneumonia(0.96), { ...pneumonia(0.6, false, true), label: 'abnormal' }] });
    expect(positive.reasons.map((x) => x.code)).not.toContain('finding-refer');
    expect(positive.reasons[0].text).toMatch(/pneumonia p=0\.96 above its operating point/);
  });

  it('when pneumonia is positive and qSOFA is 2 without NEWS2, then the pneumonia-sepsis reason quotes qSOFA only', () => {
    const r = triage(card, { findings: [pneumonia(0.97)], qsofa: { score: 2 } });
    expect(r.reasons[0].text).toBe('AI finding pneumonia p=0.97 with qSOFA 2 (≥2): possible sepsis from pneumonia; emergency assessment');
    expect(r.why).toBe('pneumonia p=0.97 · qSOFA 2');
  });

  it('when reasons are listed, then rules come first by weight, then the contributions', () => {
    const r = triage(card, { findings: [pneumonia(0.91)], news2: { score: 6, band: 'medium' }, curb65: { score: 2 } });
    expect(r.level).toBe('III');
    const weights = r.reasons.map((x) => x.weight);
    expect(r.reasons[0].code).toBe('news2-medium');
    expect(weights.slice(0, 3)).toEqual([44, 42, 36]);
    expect(r.reasons.every((x) => x.text.length > 0 && x.textZh.length > 0)).toBe(true);
  });
});

describe('triage policy: priority is monotone', () => {
  // Seeded, so a failure reproduces.
  const random = seededRandom(20261122);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T,>(xs: readonly T[]) => xs[int(xs.length)];
  type F = NonNullable<TriageInput['findings']>[number];

  const finding = (): F => {
    const s = pick(['negative', 'refer', 'positive'] as const);
    return { label: pick(['pneumonia', 'abnormal']), display: 'x', probability: Math.round(random() * 100) / 100, positive: s === 'positive', refer: s === 'refer', modelId: 'm' };
  };
  const randomInput = (): TriageInput => {
    const input: TriageInput = {};
    if (random() < 0.7) input.findings = Array.from({ length: int(3) }, finding);
    if (random() < 0.6) { const score = int(21); input.news2 = { score, band: 'x', ...(random() < 0.3 ? { redFlags: ['r'] } : {}) }; }
    if (random() < 0.5) input.qsofa = { score: int(4) };
    if (random() < 0.5) input.curb65 = { score: int(6) };
    if (random() < 0.4) input.risks = [{ modelId: 'pce-ascvd', risk: random() * 0.5, band: 'x' }];
    if (random() < 0.2) input.notApplicable = { news2: underSixteen };
    return input;
  };
  /** One step that makes the picture no less severe. */
  const worsen = (input: TriageInput): [string, TriageInput] => {
    const next: TriageInput = structuredClone(input);
    switch (int(9)) {
      case 0: next.news2 = { score: Math.min(20, (next.news2?.score ?? 0) + 1 + int(5)), band: next.news2?.band ?? 'x', ...(next.news2?.redFlags ? { redFlags: next.news2.redFlags } : {}) }; return ['NEWS2 up', next];
      case 1: next.news2 = { score: next.news2?.score ?? 0, band: next.news2?.band ?? 'x', redFlags: ['r'] }; return ['red score', next];
      case 2: next.qsofa = { score: Math.min(3, (next.qsofa?.score ?? 0) + 1) }; return ['qSOFA up', next];
      case 3: next.curb65 = { score: Math.min(5, (next.curb65?.score ?? 0) + 1) }; return ['CURB-65 up', next];
      case 4: next.findings = [...(next.findings ?? []), finding()]; return ['one more finding', next];
      case 5: {
        const f = next.findings?.[int(next.findings.length)];
        if (f) f.probability = Math.min(1, f.probability + random() * 0.3);
        return ['probability up', next];
      }
      case 6: {
        const f = next.findings?.[int(next.findings.length)];
        if (f && !f.positive) { if (f.refer) { f.refer = false; f.positive = true; } else f.refer = true; }
        return ['status up', next];
      }
      case 7: next.notApplicable = { news2: underSixteen }; return ['a score declined', next];
      default: next.risks = [...(next.risks ?? []), { modelId: 'china-par', risk: random(), band: 'x' }]; return ['one more risk', next];
    }
  };

  it('when any input becomes more severe, then neither priority nor level goes down (3,000 random steps)', () => {
    for (let i = 0; i < 3000; i++) {
      const before = randomInput();
      const [step, after] = worsen(before);
      const a = triage(card, before);
      const b = triage(card, after);
      if (b.priority < a.priority || LEVEL_RANK[b.level] < LEVEL_RANK[a.level]) {
        throw new Error(`${step} lowered triage: ${JSON.stringify(before)} → ${JSON.stringify(after)}: ${a.level} ${a.priority} → ${b.level} ${b.priority}`);
      }
      expect(b.priority).toBeGreaterThanOrEqual(0);
      expect(b.priority).toBeLessThanOrEqual(100);
    }
  });

  it('when priorities are sorted, then they never contradict levels: every level II outranks every level III', () => {
    const results = Array.from({ length: 2000 }, () => triage(card, randomInput()));
    for (const level of ['II', 'III', 'IV'] as const) {
      const here = results.filter((r) => r.level === level).map((r) => r.priority);
      const below = results.filter((r) => LEVEL_RANK[r.level] < LEVEL_RANK[level]).map((r) => r.priority);
      if (here.length && below.length) expect(Math.min(...here)).toBeGreaterThanOrEqual(Math.max(...below));
    }
  });
});
