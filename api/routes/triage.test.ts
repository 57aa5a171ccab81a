/**
 * A score that affects triage is a folder, not code: a new score card declares a triage fact, a
 * copy of the shipped policy gains one rule reading it, and `POST /v1/triage` — through the real
 * hono app, the real registry and the real route — answers a different level with the rule's
 * reason. A policy naming a fact no loaded card declares refuses to start, naming it.
 *
 * The card is CRB-65 (Lim et al., Thorax 2003; BTS community-acquired pneumonia guideline 2009):
 * CURB-65 without urea, for use where no blood test is at hand. It is written into a temporary
 * models folder beside copies of the shipped score, risk and policy cards; nothing is shipped.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../config.ts';
import { loadModelRegistry, type ModelRegistry } from '../../inference/registry.ts';
import { createApp } from '../app.ts';
import type { ApiDeps } from '../deps.ts';

const shipped = path.join(repoRoot, 'models');
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));

const mmHg = (value: number) => ({ value, unit: 'mmHg' });
const crb65Card = {
  schemaVersion: 1,
  id: 'crb65',
  version: '1.0.0',
  task: 'score',
  title: 'CRB-65 (community-acquired pneumonia severity without urea)',
  titleZh: 'CRB-65社区获得性肺炎严重程度评分（无需尿素）',
  intendedUse: 'Severity of community-acquired pneumonia in adults in the community or primary care, where blood urea is not available, to decide on referral to hospital. Test card of api/routes/triage.test.ts.',
  limitations: ['Community-acquired pneumonia in adults only; supports, never replaces, clinical judgement.'],
  aiAssisted: 'Score calculated from a published table: for a clinician to interpret; not a diagnosis.',
  outcome: '30-day mortality in community-acquired pneumonia.',
  population: 'Adults with community-acquired pneumonia (Lim 2003 derivation cohorts; validated in primary care, Bauer 2006).',
  source: {
    name: 'Lim WS, van der Eerden MM, Laing R, et al. Thorax 2003;58:377–382; Lim WS, Baudouin SV, George RC, et al. BTS guidelines for the management of community acquired pneumonia in adults: update 2009. Thorax 2009;64 Suppl 3:iii1–55.',
    licence: 'Published clinical criteria (four items), encoded from the publications.',
  },
  features: [
    { name: 'confusion', display: 'New confusion', kind: 'boolean', required: false, default: false },
    { name: 'respiratoryRate', display: 'Respiratory rate', kind: 'number', unit: '/min', units: { '/min': { factor: 1 } }, accept: [0, 80] },
    { name: 'systolicBp', display: 'Systolic blood pressure', kind: 'number', unit: 'mmHg', units: { mmHg: { factor: 1 } }, accept: [30, 300] },
    { name: 'diastolicBp', display: 'Diastolic blood pressure', kind: 'number', unit: 'mmHg', units: { mmHg: { factor: 1 } }, accept: [10, 200] },
    { name: 'age', display: 'Age', kind: 'number', unit: 'years', units: { years: { factor: 1 } }, accept: [18, 120] },
  ],
  scoring: {
    terms: [
      { term: 'confusion', display: 'Confusion', feature: 'confusion', map: { false: 0, true: 1 } },
      { term: 'respiratoryRate', display: 'Respiratory rate ≥30/min', when: { feature: 'respiratoryRate', op: 'ge', value: 30 }, points: 1 },
      { term: 'bloodPressure', display: 'SBP <90 or DBP ≤60 mmHg', when: { anyOf: [{ feature: 'systolicBp', op: 'lt', value: 90 }, { feature: 'diastolicBp', op: 'le', value: 60 }] }, points: 1 },
      { term: 'age65', display: 'Age ≥65', when: { feature: 'age', op: 'ge', value: 65 }, points: 1 },
    ],
  },
  bands: [
    { label: 'low', below: 1, display: 'CRB-65 0: low risk of death; likely suitable for home treatment.' },
    { label: 'intermediate', below: 3, display: 'CRB-65 1–2: increased risk of death; consider hospital referral.' },
    { label: 'high', display: 'CRB-65 3–4: high risk of death; urgent hospital admission.' },
  ],
  triageFacts: [
    { name: 'score', from: 'score', meaning: 'CRB-65, 0–4: 3 or more is high risk' },
    { name: 'band', from: 'band', meaning: 'risk band, lowest first: low, intermediate, high' },
  ],
  triageMention: { text: 'CRB-65 {score}' },
  metrics: [],
};

/** The one rule a department adds to its policy to act on the new score. */
const crb65Rule = {
  code: 'crb65-high',
  when: { fact: 'crb65.band', op: 'ge', value: 'high' },
  level: 'II',
  floor: 60,
  text: 'CRB-65 {crb65.score} ({crb65.band}): high risk of death from pneumonia; urgent hospital assessment',
  textZh: 'CRB-65 {crb65.score}分（{crb65.band}）：肺炎死亡风险高，需紧急住院评估',
};

const temps: string[] = [];
const registries: ModelRegistry[] = [];
afterAll(async () => {
  await Promise.all(registries.map((r) => r.close()));
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});

/** A models folder: copies of the shipped score, risk and policy cards, the new card, the policy edited as asked. */
function modelsFolder({ withCrb65 = true, editPolicy = (_policy: Record<string, any>) => {} } = {}): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-triage-facts-'));
  temps.push(root);
  for (const id of fs.readdirSync(shipped)) {
    const card = path.join(shipped, id, 'model.json');
    if (fs.existsSync(card) && ['score', 'risk', 'triage'].includes(readJson(card).task)) fs.cpSync(path.join(shipped, id), path.join(root, id), { recursive: true });
  }
  if (withCrb65) {
    fs.mkdirSync(path.join(root, 'crb65'));
    fs.writeFileSync(path.join(root, 'crb65', 'model.json'), JSON.stringify(crb65Card, null, 2));
  }
  const policyFile = path.join(root, 'triage-policy', 'model.json');
  const policyCard = readJson(policyFile);
  editPolicy(policyCard.policy);
  fs.writeFileSync(policyFile, JSON.stringify(policyCard, null, 2));
  return root;
}

/** Everything the app needs that triage does not touch: using any of it fails the test, naming it. */
const untouched = (name: string) => new Proxy({}, { get: (_t, key) => { throw new Error(`the triage route used deps.${name}.${String(key)}`); } });

interface TriageAnswer {
  triage: { level: string; priority: number; reasons: { code: string; text: string; textZh: string }[]; why: string; whyZh: string };
  scores: Record<string, { score: number; band: { label: string } }>;
}

/** The bearer token the store below knows: Dr Zhou, a grassroots doctor. */
const zhouToken = 'zhou-token';

/** The real hono app over a real registry; the store only knows Dr Zhou's token and keeps the calculation audits for the test to read. */
async function appOver(modelsDir: string) {
  const registry = await loadModelRegistry(modelsDir, { threads: 1 });
  registries.push(registry);
  const audits: { actor: string; inputs: { clinical: { facts: Record<string, unknown> } }; result?: unknown }[] = [];
  const deps = {
    config: { maxUploadBytes: 1 << 20, viewerDir: modelsDir, sessionIdleMinutes: 30, sessionAbsoluteHours: 12 },
    registry,
    store: {
      recordCalculation: (actor: string, calculation: { inputs: never; result: unknown }) => audits.push({ actor, inputs: calculation.inputs, result: calculation.result }),
      userForToken: async (token: string) => (token === zhouToken ? { user: { username: 'dr-zhou', displayName: 'Dr Zhou', roles: ['grassroots-doctor'], sites: ['main'] }, readsFor: [] } : undefined),
    },
    blobs: untouched('blobs'), readAssist: untouched('readAssist'), redis: untouched('redis'),
    instanceWrites: untouched('instanceWrites'), frameDecoder: untouched('frameDecoder'), events: untouched('events'),
  } as unknown as ApiDeps;
  const app = createApp(deps);
  const request = async <T>(route: string, body: unknown) => {
    const response = await app.request(route, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${zhouToken}` }, body: JSON.stringify(body) });
    return { status: response.status, body: await response.json() as T };
  };
  const post = (body: unknown) => request<TriageAnswer>('/v1/triage', body);
  return { post, request, audits };
}

/** A 72-year-old with pneumonia, breathing 32/min, BP 85/50, not confused: CRB-65 3. */
const sickPatient = { scores: { crb65: { respiratoryRate: 32, systolicBp: mmHg(85), diastolicBp: mmHg(50), age: 72 } } };

describe('a new score that affects triage, added as folders only', () => {
  it('when the card declares a triage fact and the policy gains one rule reading it, then POST /v1/triage answers the rule\'s level and reason', async () => {
    const before = await appOver(modelsFolder());
    const after = await appOver(modelsFolder({ editPolicy: (policy) => { policy.rules.unshift(crb65Rule); } }));

    const unread = await before.post(sickPatient);
    expect(unread.status).toBe(200);
    expect(unread.body.scores.crb65).toMatchObject({ score: 3, band: { label: 'high' } });
    expect(unread.body.triage).toMatchObject({ level: 'IV', priority: 0, why: 'no urgent finding or score' });

    const read = await after.post(sickPatient);
    expect(read.status).toBe(200);
    expect(read.body.triage).toMatchObject({ level: 'II', priority: 60, why: 'CRB-65 3', whyZh: 'CRB-65 3' });
    expect(read.body.triage.reasons[0]).toEqual({
      code: 'crb65-high',
      text: 'CRB-65 3 (high): high risk of death from pneumonia; urgent hospital assessment',
      textZh: 'CRB-65 3分（high）：肺炎死亡风险高，需紧急住院评估',
      weight: 60,
    });
    // The audited assessment holds every fact the card declares, by its catalogue name.
    expect(after.audits.at(-1)).toMatchObject({ actor: 'dr-zhou', inputs: { clinical: { facts: { 'crb65.score': 3, 'crb65.band': 'high' } } } });
  });

  it('when the new score is below the rule\'s band, then the rule does not hold and the shipped rules decide as before', async () => {
    const app = await appOver(modelsFolder({ editPolicy: (policy) => { policy.rules.unshift(crb65Rule); } }));
    const { body } = await app.post({ scores: { crb65: { respiratoryRate: 18, systolicBp: mmHg(125), diastolicBp: mmHg(75), age: 72 }, qsofa: { respiratoryRate: 24, systolicBp: mmHg(95), gcs: 14 } } });
    expect(body.scores.crb65.score).toBe(1);
    expect(body.triage.level).toBe('II');
    expect(body.triage.reasons.map((r) => r.code)).toEqual(['qsofa-positive', 'qsofa-score']);
  });
});

describe('a policy is checked against the facts the loaded cards declare', () => {
  const refusals: [string, Parameters<typeof modelsFolder>[0], RegExp][] = [
    ['a fact no card declares', { editPolicy: (p) => { p.rules.unshift({ ...crb65Rule, when: { fact: 'crb65.total', op: 'ge', value: 3 } }); } },
      /triage policy triage-policy: rules\.0\.when: fact crb65\.total is not declared by any loaded card \(known: .*crb65\.score/],
    ['a fact of a card that is not loaded', { withCrb65: false, editPolicy: (p) => { p.rules.unshift(crb65Rule); } },
      /rules\.0\.when: fact crb65\.band is not declared by any loaded card/],
    ['a band the fact does not have', { editPolicy: (p) => { p.rules.unshift({ ...crb65Rule, when: { fact: 'crb65.band', op: 'ge', value: 'severe' } }); } },
      /rules\.0\.when: crb65\.band has no band "severe" \(bands: low, intermediate, high\)/],
    ['a placeholder no card declares', { editPolicy: (p) => { p.rules.unshift({ ...crb65Rule, text: 'CRB-65 {crb65.points}' }); } },
      /rules\.0\.text: unknown placeholder \{crb65\.points\}/],
    ['a contribution reading an unknown fact', { editPolicy: (p) => { p.contributions.push({ code: 'x', fact: 'sofa.score', per: 1, max: 2, text: 'x', textZh: 'x' }); } },
      /contributions\.6\.fact: fact sofa\.score is not declared/],
  ];
  it.each(refusals)('when the policy names %s, then the registry refuses to start and names it', async (_what, folder, message) => {
    await expect(loadModelRegistry(modelsFolder(folder), { threads: 1 })).rejects.toThrow(message);
  });

  it('when a card declares a fact from an output its answer does not have, then the card is refused at start', async () => {
    const root = modelsFolder();
    const file = path.join(root, 'crb65', 'model.json');
    fs.writeFileSync(file, JSON.stringify({ ...crb65Card, triageFacts: [{ name: 'risk', from: 'risk', meaning: 'x' }] }));
    await expect(loadModelRegistry(root, { threads: 1 })).rejects.toThrow(/crb65: triage fact risk is from risk, which a score answer does not have \(it has score, band, redFlags\)/);
  });
});

/** NEWS2 is for adults (RCP: 16 and over): its card's population gate, through both calculator routes. */
describe('NEWS2 outside its card\'s population', () => {
  /** RISK-EQUATIONS.md §4's second case: NEWS2 8 (high) in an adult. */
  const sickNews2 = { respiratoryRate: 22, spo2: 94, supplementalOxygen: true, systolicBp: mmHg(105), pulse: 105, consciousness: 'alert', temperature: { value: 38.4, unit: '°C' } };

  it('when a 12-year-old\'s abnormal vital signs are triaged, then NEWS2 is not applicable with the reason and is not a score; the triage says so first, in both languages, and is not non-urgent; the audit names the decline', async () => {
    const app = await appOver(modelsFolder({ withCrb65: false }));
    const child = await app.post({ scores: { news2: { ...sickNews2, age: 12 } } });
    expect(child.status).toBe(200);
    expect(child.body.scores).toEqual({});
    expect((child.body as unknown as { notApplicable: unknown }).notApplicable).toMatchObject({
      news2: { model: { id: 'news2' }, applicability: { applicable: false, reason: { code: 'OUTSIDE_POPULATION_AGE', text: 'patient age 12 y outside 16–120 y' } } },
    });
    // RR 22 on oxygen and pulse 105 were scored by nothing: level IV would present them as reassuring.
    expect(child.body.triage).toMatchObject({
      level: 'III', priority: 26,
      why: 'NEWS2 (National Early Warning Score 2) not calculated: patient age 12 y outside 16–120 y',
      whyZh: '国家早期预警评分2（NEWS2）未计算：患者年龄 12 岁 不在 16–120 岁之内',
    });
    expect(child.body.triage.reasons.map((r) => r.code)).toEqual(['news2-not-calculated']);
    expect(child.body.triage.reasons[0].text).toMatch(/^NEWS2 \(National Early Warning Score 2\) not calculated: patient age 12 y outside 16–120 y\. .*assess them clinically.*PEWS/);
    expect(child.body.triage.reasons[0].textZh).toMatch(/^国家早期预警评分2（NEWS2）未计算：患者年龄 12 岁 不在 16–120 岁之内。.*请结合临床评估.*PEWS/);
    expect(app.audits.at(-1)).toMatchObject({ inputs: { clinical: { facts: {}, notApplicable: { news2: { code: 'OUTSIDE_POPULATION_AGE' } } } }, result: { level: 'III' } });

    // With a score that did compute, that score's rule still decides the level, and the declined one is still named first.
    const septic = await app.post({ scores: { news2: { ...sickNews2, age: 12 }, qsofa: { respiratoryRate: 24, systolicBp: mmHg(95), gcs: 14 } } });
    expect(septic.body.triage.level).toBe('II');
    expect(septic.body.triage.reasons.map((r) => r.code).slice(0, 2)).toEqual(['news2-not-calculated', 'qsofa-positive']);
    expect(septic.body.triage.why).toBe('NEWS2 (National Early Warning Score 2) not calculated: patient age 12 y outside 16–120 y · qSOFA 3');

    const adult = await app.post({ scores: { news2: { ...sickNews2, age: 16, sex: 'male' } } });
    expect(adult.body.scores.news2).toMatchObject({ score: 8, band: { label: 'high' }, applicability: { applicable: true, caveats: [] } });
    expect(adult.body.triage.reasons.map((r) => r.text)).toContainEqual(expect.stringContaining('NEWS2 8'));
    expect(adult.body.triage.reasons.map((r) => r.code)).not.toContain('news2-not-calculated');
    expect(app.audits.at(-1)?.inputs.clinical).not.toHaveProperty('notApplicable');
  });

  it('when a pregnant woman\'s abnormal vital signs are triaged, then NEWS2 is not applicable, naming an obstetric chart; the triage says so first and is not non-urgent; the audit names the decline', async () => {
    const app = await appOver(modelsFolder({ withCrb65: false }));
    const pregnant = await app.post({ scores: { news2: { ...sickNews2, age: 31, sex: 'female', pregnant: 'yes' } } });
    expect(pregnant.status).toBe(200);
    expect(pregnant.body.scores).toEqual({});
    expect(pregnant.body.triage).toMatchObject({ level: 'III', why: expect.stringMatching(/^NEWS2 \(National Early Warning Score 2\) not calculated: the patient is pregnant.*MEOWS/) });
    expect(pregnant.body.triage.reasons.map((r) => r.code)).toEqual(['news2-not-calculated']);
    expect(app.audits.at(-1)).toMatchObject({ inputs: { clinical: { notApplicable: { news2: { code: 'OUTSIDE_POPULATION_PREGNANCY' } } } }, result: { level: 'III' } });

    const notPregnant = await app.post({ scores: { news2: { ...sickNews2, age: 31, sex: 'female', pregnant: 'no' } } });
    expect(notPregnant.body.scores.news2).toMatchObject({ score: 8, applicability: { applicable: true, caveats: [] } });
    const unknown = await app.post({ scores: { news2: { ...sickNews2, age: 31, sex: 'female' } } });
    expect(unknown.body.scores.news2).toMatchObject({ score: 8, applicability: { applicable: true, caveats: [{ code: 'PREGNANCY_NOT_RECORDED' }] } });
  });

  it('when NEWS2 is asked alone (POST /v1/risk/news2), then a child gets 200 "not applicable" with no score, an adult without an age gets the score with the caveat, and each is audited as such', async () => {
    const app = await appOver(modelsFolder({ withCrb65: false }));
    const child = await app.request<Record<string, unknown>>('/v1/risk/news2', { ...sickNews2, age: 9 });
    expect(child.status).toBe(200);
    expect(child.body).not.toHaveProperty('score');
    expect(child.body.applicability).toMatchObject({ applicable: false, reason: { code: 'OUTSIDE_POPULATION_AGE', textZh: '患者年龄 9 岁 不在 16–120 岁之内' } });
    expect(app.audits.at(-1)?.result).toEqual({ notApplicable: 'OUTSIDE_POPULATION_AGE' });

    const unknownAge = await app.request<Record<string, unknown>>('/v1/risk/news2', { ...sickNews2, spo2: 97, spo2Scale: '2' });
    // SpO2 97 % on oxygen: 0 on Scale 1, 3 on Scale 2 (prescribed target 88–92 %), so 8 − 1 (94 % on Scale 1) + 3.
    expect(unknownAge.body).toMatchObject({ score: 10, applicability: { applicable: true, caveats: [{ code: 'AGE_NOT_RECORDED' }, { code: 'PREGNANCY_NOT_RECORDED' }] }, inputs: { spo2Scale: { value: '2' } } });
    expect(app.audits.at(-1)).toMatchObject({ inputs: { spo2Scale: { value: '2' } }, result: { score: 10, band: 'high', caveats: ['AGE_NOT_RECORDED', 'PREGNANCY_NOT_RECORDED'] } });
  });
});

/**
 * CURB-65 and FINDRISC are for adults (their cards' gate: 18 and over). A child's age is possible, so
 * it is not refused (422): the score answers "not applicable" with the reason, and CURB-65, which the
 * policy reads, is named first by the triage; FINDRISC, which no rule reads, changes no triage.
 */
describe('CURB-65 and FINDRISC outside their cards\' population', () => {
  /** RISK-EQUATIONS.md §6's third case without the age point: confused, urea 9, RR 31, 85/50 → 4 at 18. */
  const severeCurb65 = { confusion: true, urea: { value: 9, unit: 'mmol/L' }, respiratoryRate: 31, systolicBp: mmHg(85), diastolicBp: mmHg(50) };
  /** RISK-EQUATIONS.md §8's first case without the age points: 6 at 18, flagged outside the validated 35–64. */
  const findrisc = { sex: 'male', bmi: 27, waist: { value: 96, unit: 'cm' }, physicallyActive: false, dailyVegetables: true, antihypertensives: false, highGlucoseHistory: false, familyHistory: 'none' };
  type Declined = { notApplicable?: Record<string, { model: { id: string }; applicability: unknown }> };

  it('when a 17-year-old\'s pneumonia is triaged, then CURB-65 is not applicable with the reason, the triage names it first in both languages and is not non-urgent, and the audit names the decline; at 18 it is scored', async () => {
    const app = await appOver(modelsFolder({ withCrb65: false }));
    const child = await app.post({ scores: { curb65: { ...severeCurb65, age: 17 } } });
    expect(child.status).toBe(200);
    expect(child.body.scores).toEqual({});
    expect((child.body as TriageAnswer & Declined).notApplicable).toMatchObject({
      curb65: { model: { id: 'curb65' }, applicability: { applicable: false, reason: { code: 'OUTSIDE_POPULATION_AGE', text: 'patient age 17 y outside 18–120 y', textZh: '患者年龄 17 岁 不在 18–120 岁之内' } } },
    });
    expect(child.body.triage).toMatchObject({
      level: 'III', priority: 26,
      why: 'CURB-65 (community-acquired pneumonia severity) not calculated: patient age 17 y outside 18–120 y',
      whyZh: 'CURB-65社区获得性肺炎严重程度评分未计算：患者年龄 17 岁 不在 18–120 岁之内',
    });
    expect(child.body.triage.reasons.map((r) => r.code)).toEqual(['curb65-not-calculated']);
    expect(app.audits.at(-1)).toMatchObject({ inputs: { clinical: { facts: {}, notApplicable: { curb65: { code: 'OUTSIDE_POPULATION_AGE' } } } }, result: { level: 'III' } });

    const adult = await app.post({ scores: { curb65: { ...severeCurb65, age: 18 } } });
    expect(adult.body.scores.curb65).toMatchObject({ score: 4, band: { label: 'high' }, applicability: { applicable: true, caveats: [] } });
    expect(adult.body.triage).toMatchObject({ level: 'II' });
    expect(adult.body.triage.reasons[0].code).toBe('curb65-severe');
    expect(app.audits.at(-1)?.inputs.clinical).not.toHaveProperty('notApplicable');
  });

  it('when a child\'s FINDRISC is asked with the triage, then it is not applicable with the reason, and the triage, which reads no FINDRISC fact, is unchanged; the audit still names the decline', async () => {
    const app = await appOver(modelsFolder({ withCrb65: false }));
    const child = await app.post({ scores: { findrisc: { ...findrisc, age: 12 } } });
    expect(child.status).toBe(200);
    expect((child.body as TriageAnswer & Declined).notApplicable?.findrisc.applicability).toMatchObject({ applicable: false, reason: { text: 'patient age 12 y outside 18–120 y' } });
    expect(child.body.triage).toMatchObject({ level: 'IV', why: 'no urgent finding or score' });
    expect(app.audits.at(-1)).toMatchObject({ inputs: { clinical: { notApplicable: { findrisc: { code: 'OUTSIDE_POPULATION_AGE' } } } } });
  });

  it.each([
    ['curb65', { ...severeCurb65, age: 8 }, '患者年龄 8 岁 不在 18–120 岁之内'],
    ['findrisc', { ...findrisc, age: 12 }, '患者年龄 12 岁 不在 18–120 岁之内'],
  ])('when %s is asked alone (POST /v1/risk) for a child, then 200 "not applicable" with the reason and no score, audited as such; an impossible age is still refused', async (id, child, reasonZh) => {
    const app = await appOver(modelsFolder({ withCrb65: false }));
    const declined = await app.request<Record<string, unknown>>(`/v1/risk/${id}`, child);
    expect(declined.status).toBe(200);
    expect(declined.body).not.toHaveProperty('score');
    expect(declined.body).toMatchObject({ model: { id, version: '1.1.0' }, applicability: { applicable: false, reason: { code: 'OUTSIDE_POPULATION_AGE', textZh: reasonZh } } });
    expect(app.audits.at(-1)?.result).toEqual({ notApplicable: 'OUTSIDE_POPULATION_AGE' });

    const impossible = await app.request<{ error: { code: string; details: { field: string; message: string }[] } }>(`/v1/risk/${id}`, { ...child, age: 130 });
    expect(impossible.status).toBe(422);
    expect(impossible.body.error.details).toEqual([{ field: 'age', message: expect.stringContaining('outside the possible range 0–120 years') }]);
  });

  it('when the adult is at the boundary (18), then POST /v1/risk scores both, FINDRISC flagged outside its validated ages', async () => {
    const app = await appOver(modelsFolder({ withCrb65: false }));
    expect((await app.request(`/v1/risk/curb65`, { ...severeCurb65, age: 18 })).body).toMatchObject({ score: 4, applicability: { applicable: true } });
    expect((await app.request(`/v1/risk/findrisc`, { ...findrisc, age: 18 })).body).toMatchObject({ score: 6, withinValidatedRange: false, applicability: { applicable: true } });
    expect(app.audits.at(-1)?.result).toMatchObject({ score: 6, warnings: ['OUTSIDE_VALIDATED_RANGE'] });
  });
});
