import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../test/support/api-role.ts';

interface ReaderFinding {
  id: string; studyInstanceUid: string; label: string; display: string; displayZh: string;
  sopInstanceUid?: string; region?: { x: number; y: number; width: number; height: number }; comment?: string; reviewer: string; createdAt: string;
}
type Answer = { readerFinding?: ReaderFinding; error?: { code: string; details?: { field: string; message: string }[] } };

describe('reader findings', () => {
  let api: TestApi;
  let study: { studyInstanceUid: string; sopInstanceUid: string };
  let other: { studyInstanceUid: string; sopInstanceUid: string };
  let size: { rows: number; columns: number };
  const add = (uid: string, body: unknown, client = api.client) => client.json<Answer>(`/v1/studies/${encodeURIComponent(uid)}/reader-findings`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const shown = async (uid: string) => (await api.client.json<{ readerFindings: ReaderFinding[] }>(`/v1/studies/${uid}`)).body.readerFindings;
  const lastSeq = async () => (await api.client.audit('?limit=1'))[0]?.seq ?? 0;

  beforeAll(async () => {
    api = await startTestApi();
    study = await api.addStudy();
    other = await api.addStudy();
    const { body } = await api.client.study(study.studyInstanceUid);
    size = { rows: Number(body.instances[0].image.rows), columns: Number(body.instances[0].image.columns) };
  });
  afterAll(async () => api?.stop());

  it('when the labels are listed, then each code has an English and a Chinese name, "other" included', async () => {
    const { status, body } = await api.client.json<{ items: { code: string; display: string; displayZh: string }[] }>('/v1/reader-finding-labels');
    expect(status).toBe(200);
    expect(body.items.map((l) => l.code)).toEqual(['pneumonia', 'nodule', 'effusion', 'pneumothorax', 'cardiomegaly', 'fracture', 'other']);
    for (const l of body.items) expect(l.displayZh).toMatch(/[\u4e00-\u9fff]/);
  });

  it('when a comment is shaped like SQL or markup, then it is stored and shown literally, and the database is untouched', async () => {
    const comment = "x'); drop table studies; -- <img src=x onerror=alert(1)>";
    const third = await api.addStudy();
    const { status } = await add(third.studyInstanceUid, { label: 'other', comment });
    expect(status).toBe(201);
    expect((await shown(third.studyInstanceUid)).map((f) => f.comment)).toEqual([comment]);
    expect((await api.client.worklist()).length).toBeGreaterThanOrEqual(3);
  });

  it('when a reader marks a missed nodule on the image, then it is stored with its names, shown on the study and audited', async () => {
    const region = { x: 10, y: 20, width: size.columns - 10, height: 30.5 };
    const li = await api.signIn('dr-li', ['radiologist']);
    const { status, body } = await add(study.studyInstanceUid, { label: 'nodule', sopInstanceUid: study.sopInstanceUid, region, comment: 'right upper zone' }, li.client);
    expect(status).toBe(201);
    expect(body.readerFinding).toMatchObject({
      studyInstanceUid: study.studyInstanceUid, label: 'nodule', display: 'Nodule or mass', displayZh: '结节或肿块',
      sopInstanceUid: study.sopInstanceUid, region, comment: 'right upper zone', reviewer: 'dr-li',
    });
    expect(Date.parse(body.readerFinding!.createdAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(await shown(study.studyInstanceUid)).toEqual([body.readerFinding]);

    const [record] = await api.client.audit('?limit=1');
    expect(record).toMatchObject({ action: 'finding.reader-added', actor: 'dr-li', entityType: 'reader-finding', entityId: body.readerFinding!.id });
    expect(record.payload).toMatchObject({ studyInstanceUid: study.studyInstanceUid, label: 'nodule', sopInstanceUid: study.sopInstanceUid, region });
    expect(await api.client.verify()).toMatchObject({ intact: true });
  });

  it('when a reader adds a finding for the whole study, or "other" with its comment, then no image or region is needed', async () => {
    const whole = await add(other.studyInstanceUid, { label: 'effusion' });
    expect(whole.status).toBe(201);
    expect(whole.body.readerFinding).not.toHaveProperty('sopInstanceUid');
    expect(whole.body.readerFinding).not.toHaveProperty('region');
    const described = await add(other.studyInstanceUid, { label: 'other', comment: 'cervical rib' });
    expect(described.status).toBe(201);
    expect((await shown(other.studyInstanceUid)).map((f) => f.label)).toEqual(['effusion', 'other']);
  });

  const bad: [string, () => [string, unknown], number, string, string?][] = [
    ['an unknown label', () => [study.studyInstanceUid, { label: 'tumour' }], 422, 'VALIDATION_FAILED', 'label'],
    ['"other" without a comment', () => [study.studyInstanceUid, { label: 'other' }], 422, 'VALIDATION_FAILED', 'comment'],
    // The reviewer is whoever is signed in; a name in the body is not taken.
    ['a reviewer named in the body', () => [study.studyInstanceUid, { label: 'nodule', reviewer: 'Dr Li' }], 422, 'VALIDATION_FAILED'],
    ['an unexpected field', () => [study.studyInstanceUid, { label: 'nodule', probability: 1 }], 422, 'VALIDATION_FAILED'],
    ['a body that is not JSON', () => [study.studyInstanceUid, '{"label":'], 422, 'VALIDATION_FAILED'],
    ['a region without its image', () => [study.studyInstanceUid, { label: 'nodule', region: { x: 1, y: 1, width: 5, height: 5 } }], 422, 'VALIDATION_FAILED', 'region'],
    ['a negative region', () => [study.studyInstanceUid, { label: 'nodule', sopInstanceUid: study.sopInstanceUid, region: { x: -1, y: 1, width: 5, height: 5 } }], 422, 'VALIDATION_FAILED', 'region.x'],
    ['an empty region', () => [study.studyInstanceUid, { label: 'nodule', sopInstanceUid: study.sopInstanceUid, region: { x: 1, y: 1, width: 0, height: 5 } }], 422, 'VALIDATION_FAILED', 'region.width'],
    ['a region that is not numbers', () => [study.studyInstanceUid, { label: 'nodule', sopInstanceUid: study.sopInstanceUid, region: { x: '1', y: 1, width: 5, height: 5 } }], 422, 'VALIDATION_FAILED', 'region.x'],
    ['a region past the image\'s right edge', () => [study.studyInstanceUid, { label: 'nodule', sopInstanceUid: study.sopInstanceUid, region: { x: size.columns - 4, y: 0, width: 5, height: 5 } }], 422, 'VALIDATION_FAILED', 'region'],
    ['a region past the image\'s bottom edge', () => [study.studyInstanceUid, { label: 'nodule', sopInstanceUid: study.sopInstanceUid, region: { x: 0, y: size.rows, width: 5, height: 1 } }], 422, 'VALIDATION_FAILED', 'region'],
    ['an image of another study', () => [study.studyInstanceUid, { label: 'nodule', sopInstanceUid: other.sopInstanceUid }], 422, 'VALIDATION_FAILED', 'sopInstanceUid'],
    ['an unknown image', () => [study.studyInstanceUid, { label: 'nodule', sopInstanceUid: '1.2.3.4' }], 422, 'VALIDATION_FAILED', 'sopInstanceUid'],
    ['an unknown study', () => ['1.2.3.999', { label: 'nodule' }], 404, 'NOT_FOUND'],
  ];
  it.each(bad)('when the request has %s, then it is refused with a code, and nothing is stored or audited', async (_name, make, status, code, field) => {
    const [uid, body] = make();
    const before = { study: await shown(study.studyInstanceUid), other: await shown(other.studyInstanceUid), seq: await lastSeq() };
    const answer = await add(uid, body);
    expect(answer.status).toBe(status);
    expect(answer.body.error?.code).toBe(code);
    if (field) expect(answer.body.error?.details?.map((d) => d.field)).toContain(field);
    expect({ study: await shown(study.studyInstanceUid), other: await shown(other.studyInstanceUid), seq: await lastSeq() }).toEqual(before);
  });
});
