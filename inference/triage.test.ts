/**
 * Study priority from the shipped triage policy and model cards: only applicable findings
 * of models whose card lets them drive priority move a study; the "why" says when every
 * model declined, and why.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../config.ts';
import { finding, notApplicableFinding } from '../store/test-fixtures.ts';
import type { Prioritise, StudySnapshot } from '../contract/studies.ts';
import { loadModel, type LoadedModel, type TriageModel } from './registry.ts';
import { createStudyPrioritiser } from './triage.ts';

const load = (id: string) => loadModel(path.join(repoRoot, 'models', id), { threads: 1 });
const SOP = '1.2.3.4';
const done: StudySnapshot['instances'] = { any: true, queued: false };
const tooOld = { code: 'OUTSIDE_POPULATION_AGE', text: 'patient age 64 y outside 1–5 y', textZh: '患者年龄 64 岁 不在 1–5 岁之内' };
const positive = (model: { id: string; version: string }, probability = 0.97) => ({
  ...finding(SOP, probability), positive: true, model: { ...finding(SOP).model, ...model },
});
const news2High = { news2: { score: 8, band: 'high' } };

describe('study priority with the population gate', () => {
  let prioritise: Prioritise;
  let models: LoadedModel[];

  beforeAll(async () => {
    // The score and risk cards declare the facts the policy reads; the prioritiser refuses a policy without them.
    models = await Promise.all(['triage-policy', 'pneumonia-cxr', 'nih-cxr-abnormal', 'news2', 'qsofa', 'curb65', 'pce-ascvd', 'china-par', 'framingham-cvd-2008', 'diabetes-pima'].map(load));
    prioritise = createStudyPrioritiser({ triagePolicy: models[0] as TriageModel, models });
  });

  const card = (id: string) => models.find((m) => m.card.id === id)!.card as { id: string; version: string };

  it('when a served model that drives priority calls pneumonia, then the study rises above one with no finding', () => {
    const none = prioritise({ instances: done, findings: [] });
    const called = prioritise({ instances: done, findings: [positive(card('pneumonia-cxr'))] });
    expect(called.priority).toBeGreaterThan(none.priority);
  });

  it('when the model was not applicable, then the study is prioritised as if it had no finding and the why says why', () => {
    const none = prioritise({ instances: done, findings: [] });
    const declined = prioritise({ instances: done, findings: [notApplicableFinding(SOP, tooOld)] });
    expect(declined.priority).toBe(none.priority);
    expect(declined.why).toContain('AI not applicable (pneumonia-cxr): patient age 64 y outside 1–5 y');
    expect(declined.whyZh).toContain('AI 不适用（pneumonia-cxr）：患者年龄 64 岁 不在 1–5 岁之内');
  });

  it('when vital signs are urgent and the model declined, then the priority is the vital signs\' alone', () => {
    const vitals = prioritise({ instances: done, findings: [], clinical: news2High });
    const declined = prioritise({ instances: done, findings: [notApplicableFinding(SOP, tooOld)], clinical: news2High });
    expect(declined.priority).toBe(vitals.priority);
    expect(declined.priority).toBeGreaterThan(50);
  });

  it('when only a model that may not drive priority calls a finding, then priority does not move and the why says the finding is shown but not used', () => {
    const nih = card('nih-cxr-abnormal');
    const none = prioritise({ instances: done, findings: [] });
    const advisory = prioritise({ instances: done, findings: [positive(nih)] });
    expect(advisory.priority).toBe(none.priority);
    expect(advisory.why).toContain('AI finding shown, not used for priority (nih-cxr-abnormal)');
    expect(advisory.whyZh).toContain('AI 发现仅供参考，未用于排序（nih-cxr-abnormal）');
  });

  it('when one model declined and another answered, then the answer drives priority and the why does not call the study unread', () => {
    const both = prioritise({ instances: done, findings: [notApplicableFinding(SOP, tooOld), positive(card('pneumonia-cxr'))] });
    expect(both.priority).toBe(prioritise({ instances: done, findings: [positive(card('pneumonia-cxr'))] }).priority);
    expect(both.why).not.toMatch(/not applicable/);
  });

  it('when a finding comes from a model this process does not know, then it drives nothing', () => {
    const none = prioritise({ instances: done, findings: [] });
    expect(prioritise({ instances: done, findings: [positive({ id: 'someone-elses-model', version: '9.9.9' })] }).priority).toBe(none.priority);
  });

  it('when a study was assessed before triage facts, then its stored answers are read as the same facts and it keeps its priority and why', () => {
    const before = { news2: { score: 3, band: 'low-medium', redFlags: ['red score: a single parameter scoring 3 (Consciousness: 3)'] }, qsofa: { score: 2, band: 'positive' }, risks: [{ modelId: 'pce-ascvd', risk: 0.25, band: 'intermediate' }] };
    const now = { facts: { 'news2.score': 3, 'news2.band': 'low-medium', 'news2.redScore': 1, 'qsofa.score': 2, 'qsofa.band': 'positive', 'pce-ascvd.risk': 0.25, 'pce-ascvd.band': 'intermediate' } };
    const old = prioritise({ instances: done, findings: [], clinical: before });
    expect(old).toEqual(prioritise({ instances: done, findings: [], clinical: now }));
    expect(old.why).toBe('no AI model applies to this study · qSOFA 2 · NEWS2 3 (low-medium)');
    expect((old.detail as { reasons: { code: string }[] }).reasons.map((r) => r.code)).toEqual(['qsofa-positive', 'news2-red-score', 'news2-score', 'qsofa-score', 'chronic-risk']);
  });

  it('when the stored assessment says NEWS2 declined a child, then the study is level III and its why says so after the AI state, in both languages', () => {
    const child = { code: 'OUTSIDE_POPULATION_AGE', text: 'patient age 9 y outside 16–120 y', textZh: '患者年龄 9 岁 不在 16–120 岁之内' };
    const ranked = prioritise({ instances: { any: true, queued: true }, findings: [], clinical: { facts: {}, notApplicable: { news2: child } } });
    expect(ranked.why).toBe('awaiting AI read · NEWS2 (National Early Warning Score 2) not calculated: patient age 9 y outside 16–120 y');
    expect(ranked.whyZh).toBe('等待 AI 阅片 · 国家早期预警评分2（NEWS2）未计算：患者年龄 9 岁 不在 16–120 岁之内');
    expect(ranked.detail).toMatchObject({ level: 'III', priority: 26, reasons: [{ code: 'news2-not-calculated' }] });
    // A stored list that is not one (hand-edited, corrupt) is not read as declined scores.
    expect(prioritise({ instances: done, findings: [], clinical: { facts: {}, notApplicable: { news2: 'OUTSIDE_POPULATION_AGE' } } }).detail).toMatchObject({ level: 'IV' });
  });

  it('when a stored assessment names a model this process does not load, then that model moves nothing', () => {
    const none = prioritise({ instances: done, findings: [] });
    expect(prioritise({ instances: done, findings: [], clinical: { sofa: { score: 12 }, facts: undefined } }).priority).toBe(none.priority);
    expect(prioritise({ instances: done, findings: [], clinical: { facts: { 'sofa.score': 12 } } }).priority).toBe(none.priority);
  });
});
