/**
 * Smart triage against `lantern start`: bedside scores and imaging findings become one
 * priority, a level on the Chinese four-level scale and the reasons; attached to a
 * study, they re-order the worklist and the AI queue itself.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../config.ts';
import { READ_ASSIST_QUEUE, readAssistJobId } from '../queue/jobs.ts';
import { apiClient } from './support/api-client.ts';
import { withFreshUids } from './support/dicom-builder.ts';
import { files } from './support/shared-data.ts';
import { newUser, type SignedIn } from './support/sign-in.ts';
import { startStack, waitFor, type Stack } from './support/stack.ts';

interface TriageResponse {
  triage: { priority: number; level: string; levelDisplayZh: string; news2Band?: string; reasons: { code: string; text: string; textZh: string }[]; why: string };
  scores: Record<string, { score: number; band: { label: string } }>;
  error?: { code: string; details: { field: string; message: string }[] };
}

const mmHg = (value: number) => ({ value, unit: 'mmHg' });
/** RISK-EQUATIONS.md §4 row 2: NEWS2 8 (high). */
const sickNews2 = { respiratoryRate: 22, spo2: 94, spo2Scale: '1', supplementalOxygen: true, systolicBp: mmHg(105), pulse: 105, consciousness: 'alert', temperature: { value: 38.4, unit: '°C' } };
/** §4 row 1: NEWS2 0 (low). */
const wellNews2 = { respiratoryRate: 16, spo2: 97, spo2Scale: '1', supplementalOxygen: false, systolicBp: mmHg(125), pulse: 72, consciousness: 'alert', temperature: { value: 37.0, unit: '°C' } };

describe('smart triage', () => {
  let stack: Stack;
  let api: ReturnType<typeof apiClient>;
  /** The triage nurse's account: a grassroots-doctor role, which may calculate and triage. */
  let nurse: SignedIn;
  const post = (body: unknown) =>
    apiClient(stack.baseUrl, nurse.token).json<TriageResponse>('/v1/triage', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    // No workers: studies stay queued, so the queue's order can be inspected.
    stack = await startStack({ workers: 0 });
    api = apiClient(stack.baseUrl, stack.token);
    nurse = await newUser(stack.baseUrl, stack.token, { username: 'nurse-zhang', displayName: 'Nurse Zhang', roles: ['grassroots-doctor'] });
  });
  afterAll(async () => stack?.stop());

  it('when a grassroots doctor sends vitals and a positive pneumonia finding, then the published scores, level II and the reasons come back', async () => {
    const { status, body } = await post({
      scores: {
        news2: sickNews2,
        qsofa: { respiratoryRate: 24, systolicBp: mmHg(95), gcs: 14 },
        curb65: { confusion: false, urea: { value: 8, unit: 'mmol/L' }, respiratoryRate: 32, systolicBp: mmHg(110), diastolicBp: mmHg(70), age: 70 },
      },
      findings: [{ label: 'pneumonia', display: 'Pneumonia', probability: 0.95, positive: true, modelId: 'pneumonia-cxr' }],
    });
    expect(status).toBe(200);
    expect(body.scores.news2).toMatchObject({ score: 8, band: { label: 'high' } });
    expect(body.scores.qsofa.score).toBe(3);
    expect(body.scores.curb65.score).toBe(3);
    expect(body.triage).toMatchObject({ level: 'II', news2Band: 'high' });
    expect(body.triage.levelDisplayZh).toMatch(/危重/);
    expect(body.triage.reasons.length).toBeGreaterThan(0);
    expect(body.triage.reasons[0].textZh).toBeTruthy();
    // Calculation audits are group-committed just after the answer.
    const audit = await waitFor(async () => (await api.audit('?limit=5')).find((a) => a.action === 'triage.calculated'), 'the triage audit');
    expect(audit).toMatchObject({ action: 'triage.calculated', actor: 'nurse-zhang' });
  });

  it('when the same patient is well, then the level is lower and the priority too', async () => {
    const sick = (await post({ scores: { news2: sickNews2 } })).body.triage;
    const well = (await post({ scores: { news2: wellNews2 } })).body.triage;
    expect(well.priority).toBeLessThan(sick.priority);
    expect(['III', 'IV']).toContain(well.level);
  });

  it('when vitals are attached to a study, then it moves up the worklist and its AI job moves up the queue', async () => {
    const ADULT_MODEL = `cxr-pneumonia-adult@${JSON.parse(fs.readFileSync(path.join(repoRoot, 'models/cxr-pneumonia-adult/model.json'), 'utf8')).version}`;
    const { body: stow } = await api.stow([files.chestRaw, files.chestJ2k]);
    const [first, second] = stow.stored!;
    const queue = new Queue(READ_ASSIST_QUEUE, { connection: { url: stack.redisUrl }, prefix: 'lantern' });
    const jobPriority = async (sop: string) => (await queue.getJob(readAssistJobId(sop, ADULT_MODEL)))!.priority;
    try {
      expect(await jobPriority(first.sopInstanceUid)).toBe(await jobPriority(second.sopInstanceUid));

      await post({ studyInstanceUid: first.studyInstanceUid, scores: { news2: wellNews2 } });
      const { status, body } = await post({ studyInstanceUid: second.studyInstanceUid, scores: { news2: sickNews2 } });
      expect(status).toBe(200);
      expect(body.triage.why).toMatch(/NEWS2/);

      const worklist = await api.worklist();
      const order = worklist.map((i) => i.studyInstanceUid);
      expect(order.indexOf(second.studyInstanceUid)).toBeLessThan(order.indexOf(first.studyInstanceUid));
      const row = worklist.find((i) => i.studyInstanceUid === second.studyInstanceUid)!;
      expect(row.why).toMatch(/awaiting AI read · .*NEWS2/);
      expect(row.triage).toMatchObject({ level: 'II', news2Band: 'high' });
      // BullMQ runs lower numbers first.
      expect(await jobPriority(second.sopInstanceUid)).toBeLessThan(await jobPriority(first.sopInstanceUid));
      expect((await api.audit(`?entityId=${second.studyInstanceUid}`))[0]).toMatchObject({ action: 'study.assessed', actor: 'nurse-zhang' });
    } finally {
      await queue.close();
    }
  });

  it('when a film arrives for a study already ranked level II, then its AI job is added at that rank, never visible to workers at a new study\'s', async () => {
    const ADULT_MODEL = `cxr-pneumonia-adult@${JSON.parse(fs.readFileSync(path.join(repoRoot, 'models/cxr-pneumonia-adult/model.json'), 'utf8')).version}`;
    const film = fs.readFileSync(files.chestJ2k);
    const [first] = (await api.stow([withFreshUids(film, 41)])).body.stored!;
    expect((await post({ studyInstanceUid: first.studyInstanceUid, scores: { news2: sickNews2 } })).body.triage.level).toBe('II');
    const [next] = (await api.stow([withFreshUids(film, 42, { studyInstanceUid: first.studyInstanceUid })])).body.stored!;
    const queue = new Queue(READ_ASSIST_QUEUE, { connection: { url: stack.redisUrl }, prefix: 'lantern' });
    try {
      const [ranked, added] = await Promise.all([first, next].map(async ({ sopInstanceUid }) => (await queue.getJob(readAssistJobId(sopInstanceUid, ADULT_MODEL)))!));
      expect(added.priority).toBe(ranked.priority);
      // The priority it was added with (BullMQ keeps the add's options): under a flood, a job added at a new
      // study's rank and re-ranked after the instance write can lose its turn to level IV work meanwhile.
      expect(added.opts.priority).toBe(ranked.priority);
    } finally {
      await queue.close();
    }
  });

  it('when a child\'s abnormal vital signs are attached to a study, then NEWS2 declines them and the worklist row says so in both languages at level III, and the study.assessed audit names the decline', async () => {
    const [study] = (await api.stow([withFreshUids(fs.readFileSync(files.chestJ2k), 43)])).body.stored!;
    const { status, body } = await post({ studyInstanceUid: study.studyInstanceUid, scores: { news2: { ...sickNews2, age: 9 } } });
    expect(status).toBe(200);
    expect(body.scores).toEqual({});
    expect(body.triage).toMatchObject({ level: 'III', reasons: [{ code: 'news2-not-calculated' }] });

    const row = (await api.worklist()).find((i) => i.studyInstanceUid === study.studyInstanceUid)!;
    expect(row.why).toBe('awaiting AI read · NEWS2 (National Early Warning Score 2) not calculated: patient age 9 y outside 16–120 y');
    expect(row.whyZh).toBe('等待 AI 阅片 · 国家早期预警评分2（NEWS2）未计算：患者年龄 9 岁 不在 16–120 岁之内');
    expect(row.triage).toMatchObject({ level: 'III', reasons: [{ code: 'news2-not-calculated', text: expect.stringContaining('assess them clinically'), textZh: expect.stringContaining('请结合临床评估') }] });
    const assessed = (await api.audit(`?entityId=${study.studyInstanceUid}`)).find((a) => a.action === 'study.assessed');
    expect(assessed?.payload).toMatchObject({ clinical: { facts: {}, notApplicable: { news2: { code: 'OUTSIDE_POPULATION_AGE' } } }, why: row.why });
  });

  it('when inputs are wrong, then 422 names each field by score, and nothing is stored', async () => {
    // The nurse's records only: the films uploaded above still have answers landing (the children's
    // model's "not applicable", held up to 250 ms at ingest, then written with its SR).
    const nurses = async () => (await api.audit('?limit=1000')).filter((record) => record.actor === 'nurse-zhang').length;
    const before = await nurses();
    expect(before).toBeGreaterThan(0);
    const { status, body } = await post({ scores: { news2: { ...sickNews2, respiratoryRate: -4, systolicBp: 105 }, sofa: {} } });
    expect(status).toBe(422);
    expect(body.error!.details.map((d) => d.field).sort()).toEqual(['scores.news2.respiratoryRate', 'scores.news2.systolicBp', 'scores.sofa']);
    // A calculation's record is group-committed after its answer: a late one would show by now.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await nurses()).toBe(before);
    expect((await post({ studyInstanceUid: '1.2.3.4', scores: { news2: wellNews2 } })).status).toBe(404);
  });
});
