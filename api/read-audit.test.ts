/**
 * Story: who opened which study. A radiologist views a study and pages through its frames, a
 * consultant opens it too, an admin issues its accountability bundle; after a flush the
 * admin finds exactly one `study.viewed` record per user × study with what each read, and the
 * chain still verifies. A model-team user is refused and leaves no such record.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../test/support/api-role.ts';
import type { AuditItem } from '../test/support/api-client.ts';

describe('reads of patient data are audited', () => {
  let api: TestApi;
  let study: { studyInstanceUid: string; sopInstanceUid: string };
  let framesUrl: string;
  let radiologist: Awaited<ReturnType<TestApi['signIn']>>;

  const viewedRecords = async (entityId: string) => api.client.audit(`?action=study.viewed&entityId=${entityId}`);
  const frame = (token: string) => fetch(new URL(`${framesUrl}/1`, api.url), { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    api = await startTestApi();
    study = await api.addStudy();
    radiologist = await api.signIn('dr.wu', ['radiologist']);
  });
  afterAll(async () => api?.stop());

  it('when a radiologist views a study and reads its frame 40 times, then after a flush one record holds one view and 40 frames, by that user', async () => {
    const { status, body } = await radiologist.client.study(study.studyInstanceUid);
    expect(status).toBe(200);
    framesUrl = body.instances[0].framesUrl;
    for (let i = 0; i < 40; i += 1) {
      const answer = await frame(radiologist.token);
      expect(answer.status).toBe(200);
      await answer.arrayBuffer();
    }
    await api.store.flushReadAudits();
    const records = await viewedRecords(study.studyInstanceUid);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ actor: 'dr.wu', action: 'study.viewed', entityType: 'study', entityId: study.studyInstanceUid, payload: { reads: { view: 1, frames: 40 } } });
  });

  it('when a consultant opens the same study and an admin issues its bundle, then each has a record of their own', async () => {
    const consultant = await api.signIn('dr.li', ['consultant']);
    expect((await consultant.client.study(study.studyInstanceUid)).status).toBe(200);
    expect((await frame(consultant.token)).status).toBe(200);
    expect((await api.client.json(`/v1/audit/bundle/${study.studyInstanceUid}`)).status).toBe(200);
    await api.store.flushReadAudits();
    const byActor = Object.fromEntries((await viewedRecords(study.studyInstanceUid)).map((r: AuditItem) => [r.actor, r.payload.reads]));
    expect(byActor).toEqual({ 'dr.wu': { view: 1, frames: 40 }, 'dr.li': { view: 1, frames: 1 }, tester: { export: 1 } });
  });

  it('when a radiologist opens the worklist three times, then one worklist.viewed record names the studies it showed', async () => {
    const other = await api.addStudy();
    for (let i = 0; i < 3; i += 1) expect((await radiologist.client.json('/v1/worklist')).status).toBe(200);
    await api.store.flushReadAudits();
    const records = (await api.client.audit('?action=worklist.viewed')).filter((r) => r.actor === 'dr.wu');
    expect(records).toHaveLength(1);
    expect(records[0].payload).toMatchObject({ reads: { view: 3 } });
    expect(records[0].payload.studies).toEqual([study.studyInstanceUid, other.studyInstanceUid].sort());
  });

  it('when a model-team user asks for the study, its frames or the worklist, then each is 403 and nothing is recorded for them', async () => {
    const team = await api.signIn('ml.chen', ['model-team']);
    expect((await team.client.study(study.studyInstanceUid)).status).toBe(403);
    expect((await team.client.json('/v1/worklist')).status).toBe(403);
    expect((await frame(team.token)).status).toBe(403);
    await api.store.flushReadAudits();
    expect((await api.client.audit('?action=study.viewed')).filter((r) => r.actor === 'ml.chen')).toEqual([]);
  });

  it('when an admin filters the trail by an action, then only that action comes back; a malformed action is a 422', async () => {
    const records = await api.client.audit('?action=study.viewed');
    expect(records.length).toBeGreaterThanOrEqual(3);
    expect(new Set(records.map((r) => r.action))).toEqual(new Set(['study.viewed']));
    expect((await api.client.json('/v1/audit?action=study%20viewed%27')).status).toBe(422);
  });

  it('when reads have been recorded, then the chain still verifies', async () => {
    expect(await api.client.verify()).toMatchObject({ intact: true });
  });
});
