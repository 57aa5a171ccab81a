import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../test/support/api-role.ts';
import { connectEvents } from '../../test/support/event-stream.ts';
import { waitFor } from '../../test/support/stack.ts';

/** A client of GET /v1/events as the test's all-roles user. */
const connect = (api: TestApi) => connectEvents(api.url, api.authorization);

describe('GET /v1/events', () => {
  let api: TestApi;
  const post = (path: string, body: unknown) =>
    api.client.json<{ error?: { code: string } }>(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => api?.stop());

  it('when a review is recorded, then a connected client gets a study event naming the study and the change', async () => {
    const { studyInstanceUid, sopInstanceUid } = await api.addStudy();
    const finding = await api.addFinding(sopInstanceUid, { probability: 0.97 });
    const client = await connect(api);
    try {
      expect(client.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(await client.next()).toEqual({ comment: 'connected' });
      expect((await api.client.review(finding.id, { decision: 'accept' })).status).toBe(201);
      // The setup's own `finding` events may still be on their way through Redis when the client connects.
      let event = await client.nextStudyEvent();
      while (event.change === 'finding') event = await client.nextStudyEvent();
      expect(event).toEqual({ studyInstanceUid, change: 'review' });
    } finally {
      client.close();
    }
  });

  it('when a study goes through its life, then each committed change is announced in order; a refused write announces nothing', async () => {
    const client = await connect(api);
    try {
      await client.next();
      const { studyInstanceUid, sopInstanceUid } = await api.addStudy();
      expect(await client.nextStudyEvent()).toEqual({ studyInstanceUid, change: 'received' });
      // The film records no patient age: the children's model is answered "not applicable" at ingest, from the header
      // (pipeline/ingest.ts), then the API's SR worker stores its AI results SR in the study (addStudy waits for both).
      expect(await client.nextStudyEvent()).toEqual({ studyInstanceUid, change: 'finding' });
      expect(await client.nextStudyEvent()).toEqual({ studyInstanceUid, change: 'received' });
      const finding = await api.addFinding(sopInstanceUid, { probability: 0.5 });
      // One per finding addFinding records: the one it is given, and the adult model's answer (its job's).
      expect(await client.nextStudyEvent()).toEqual({ studyInstanceUid, change: 'finding' });
      expect(await client.nextStudyEvent()).toEqual({ studyInstanceUid, change: 'finding' });
      expect((await post(`/v1/findings/${finding.id}/review`, { decision: 'override' })).status).toBe(422);
      expect((await post('/v1/findings/no-such-finding/review', { decision: 'accept' })).status).toBe(404);
      expect((await post(`/v1/studies/${studyInstanceUid}/reader-findings`, { label: 'tumour' })).status).toBe(422);
      expect((await post('/v1/triage', { studyInstanceUid, scores: { news2: { respiratoryRate: 16 } } })).status).toBe(422);
      expect((await post('/v1/triage', { studyInstanceUid, scores: { qsofa: { respiratoryRate: 24, systolicBp: { value: 95, unit: 'mmHg' }, gcs: 13 } } })).status).toBe(200);
      expect(await client.nextStudyEvent()).toEqual({ studyInstanceUid, change: 'triage' });
      expect((await post(`/v1/studies/${studyInstanceUid}/reader-findings`, { label: 'effusion' })).status).toBe(201);
      expect(await client.nextStudyEvent()).toEqual({ studyInstanceUid, change: 'reader-finding' });
      await api.store.recordInferenceFailure(sopInstanceUid, { id: 'nih-cxr-abnormal', version: '1.1.0' }, { code: 'DECODE_FAILED', message: 'test' }, 'model:nih-cxr-abnormal@1.1.0');
      expect(await client.nextStudyEvent()).toEqual({ studyInstanceUid, change: 'failure' });
    } finally {
      client.close();
    }
  });

  it('when clients disconnect, then their listeners are released', async () => {
    const released = () => waitFor(async () => (api.events.listenerCount === 0 ? true : undefined), 'every listener to be released', 5_000);
    await released(); // the earlier tests' clients have gone too
    const clients = await Promise.all([connect(api), connect(api), connect(api)]);
    await Promise.all(clients.map((c) => c.next()));
    expect(api.events.listenerCount).toBe(3);
    for (const c of clients) c.close();
    await released();
  });
});
