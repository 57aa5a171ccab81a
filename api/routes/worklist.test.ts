import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding, WorklistItem } from '../../store/types.ts';
import { startTestApi, type TestApi } from '../../test/support/api-role.ts';
import { files } from '../../test/support/shared-data.ts';

type Item = WorklistItem & {
  whyZh: string;
  waitingSince: string;
  sla: { level: string; targetMinutes: number; dueAt: string; breached: boolean } | null;
  aiDelay: { level: string; targetMinutes: number; waitingMinutes: number } | null;
  findings: (Finding & { displayZh?: string })[];
};

const mmHg = (value: number) => ({ value, unit: 'mmHg' });
/** NEWS2 8 (high): RISK-EQUATIONS.md §4 row 2. */
const sickNews2 = { respiratoryRate: 22, spo2: 94, spo2Scale: '1', supplementalOxygen: true, systolicBp: mmHg(105), pulse: 105, consciousness: 'alert', temperature: { value: 38.4, unit: '°C' } };

describe('GET /v1/worklist', () => {
  let api: TestApi;
  /** One study per combination the filters tell apart. */
  const s: Record<'queued' | 'positive' | 'sick' | 'reviewed' | 'ct', { studyInstanceUid: string; sopInstanceUid: string }> = {} as never;
  const worklist = async (query = '') => {
    const { status, body } = await api.client.json<{ items: Item[]; error?: { code: string; details: { field: string }[] } }>(`/v1/worklist${query}`);
    return { status, body, uids: (body.items ?? []).map((i) => i.studyInstanceUid) };
  };
  const name = (uid: string) => Object.entries(s).find(([, v]) => v.studyInstanceUid === uid)?.[0] ?? uid;

  beforeAll(async () => {
    api = await startTestApi();
    s.queued = await api.addStudy();
    s.positive = await api.addStudy();
    await api.addFinding(s.positive.sopInstanceUid, { probability: 0.96 });
    s.sick = await api.addStudy();
    await api.addFinding(s.sick.sopInstanceUid, { probability: 0.97 });
    const triage = await api.client.json('/v1/triage', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ studyInstanceUid: s.sick.studyInstanceUid, scores: { news2: sickNews2 } }) });
    expect(triage.status).toBe(200);
    s.reviewed = await api.addStudy();
    const negative = await api.addFinding(s.reviewed.sopInstanceUid, { probability: 0.2 });
    expect((await api.client.review(negative.id, { decision: 'accept' })).status).toBe(201);
    s.ct = await api.addStudy(files.ct);
  });
  afterAll(async () => api?.stop());

  it('when unfiltered, then studies needing a human come first in priority order and reviewed ones last', async () => {
    const { status, body, uids } = await worklist();
    expect(status).toBe(200);
    expect(uids.map(name)).toEqual(['sick', 'positive', 'queued', 'ct', 'reviewed']);
    expect(body.items.map((i) => i.status)).toEqual(['ready', 'ready', 'pending', 'ready', 'reviewed']);
    const priorities = body.items.slice(0, 4).map((i) => i.priority);
    expect(priorities).toEqual([...priorities].sort((a, b) => b - a));
  });

  it.each([
    ['?status=pending', ['queued']],
    ['?status=ready', ['sick', 'positive', 'ct']],
    ['?status=reviewed,pending', ['queued', 'reviewed']],
    ['?modality=CT', ['ct']],
    ['?modality=CR,DX', ['sick', 'positive', 'queued', 'reviewed']],
    ['?priority=urgent', ['sick']],
    ['?priority=routine', ['positive']],
    ['?priority=urgent,routine', ['sick', 'positive']],
    ['?priority=low', ['queued', 'ct', 'reviewed']],
    ['?priority=high', []],
    ['?status=ready&modality=CR&priority=low,routine', ['positive']],
    ['?status=&modality=', ['sick', 'positive', 'queued', 'ct', 'reviewed']],
  ])('when filtered by %s, then exactly the matching studies come back, in worklist order', async (query, expected) => {
    const { status, uids } = await worklist(query);
    expect(status).toBe(200);
    expect(uids.map(name)).toEqual(expected);
  });

  it.each([
    ['?status=done', 'status'],
    ['?priority=critical', 'priority'],
    ['?modality=c;r', 'modality'],
  ])('when a filter value is unknown (%s), then 422 names the parameter and the position of the bad value', async (query, field) => {
    const { status, body } = await worklist(query);
    expect(status).toBe(422);
    expect(body.error?.code).toBe('VALIDATION_FAILED');
    expect(body.error?.details.map((d) => d.field)).toEqual([`${field}.0`]);
  });

  it('when a level-II study has waited past its 10-minute target, then its SLA is breached; a fresh level-III study is within its 30 minutes; a reviewed study has none', async () => {
    await api.store.db.query(`update studies set received_at = now() - interval '11 minutes' where study_instance_uid = $1`, [s.sick.studyInstanceUid]);
    const { body } = await worklist();
    const item = (key: keyof typeof s) => body.items.find((i) => i.studyInstanceUid === s[key].studyInstanceUid)!;

    const sick = item('sick');
    expect(sick.waitingSince).toBe(sick.receivedAt);
    expect(Date.now() - Date.parse(sick.waitingSince)).toBeGreaterThan(10 * 60_000);
    expect(sick.sla).toEqual({ level: 'II', targetMinutes: 10, dueAt: new Date(Date.parse(sick.receivedAt) + 10 * 60_000).toISOString(), breached: true });

    const positive = item('positive');
    expect(positive.sla).toEqual({ level: 'III', targetMinutes: 30, dueAt: new Date(Date.parse(positive.receivedAt) + 30 * 60_000).toISOString(), breached: false });
    expect(item('queued').sla).toMatchObject({ level: 'IV', targetMinutes: 240, breached: false });
    expect(item('reviewed').sla).toBeNull();

    const study = await api.client.json<{ study: Item }>(`/v1/studies/${s.sick.studyInstanceUid}`);
    expect(study.body.study.sla).toEqual(sick.sla);
    expect(study.body.study.waitingSince).toBe(sick.receivedAt);
  });

  it('when a study has findings, then its why and its findings come in Chinese too, from the policy and the model card', async () => {
    const { body } = await worklist('?priority=urgent');
    const [sick] = body.items;
    expect(sick.why).toBe('pneumonia p=0.97 · NEWS2 8 (high)');
    expect(sick.whyZh).toBe('肺炎 p=0.97 · NEWS2 8 (high)');
    expect(sick.findings[0]).toMatchObject({ label: 'pneumonia', display: 'Pneumonia', displayZh: '肺炎' });
    expect(sick.findings[0].aiAssisted).toMatch(/AI-assisted/);
    expect((sick.findings[0] as Finding & { aiAssistedZh: string }).aiAssistedZh).toMatch(/AI 辅助/);
    const queued = (await worklist('?status=pending')).body.items[0];
    expect(queued.whyZh).toMatch(/^等待 AI 阅片/);
  });

  it('when a study still waits for its AI result past its level\'s AI target (IV: 60 min), then the item says AI delayed and for how long; within it, or with its result in, it says nothing', async () => {
    const within = (await worklist()).body.items.find((i) => i.studyInstanceUid === s.queued.studyInstanceUid)!;
    expect(within).toMatchObject({ status: 'pending', aiDelay: null });
    await api.store.db.query(`update studies set received_at = now() - interval '75 minutes' where study_instance_uid = $1`, [s.queued.studyInstanceUid]);
    const { body } = await worklist();
    const item = (key: keyof typeof s) => body.items.find((i) => i.studyInstanceUid === s[key].studyInstanceUid)!;
    expect(item('queued').aiDelay).toEqual({ level: 'IV', targetMinutes: 60, waitingMinutes: 75 });
    // The level-II study waited 11 minutes (past II's 5), but its AI result is in: nothing is delayed.
    expect(item('sick')).toMatchObject({ status: 'ready', aiDelay: null });
    const study = await api.client.json<{ study: Item }>(`/v1/studies/${s.queued.studyInstanceUid}`);
    expect(study.body.study.aiDelay).toEqual({ level: 'IV', targetMinutes: 60, waitingMinutes: 75 });
  });
});
