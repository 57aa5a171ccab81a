import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../test/support/api-role.ts';
import { waitFor } from '../../test/support/stack.ts';

interface SseMessage { event?: string; data?: string; comment?: string }

/** A client of GET /v1/events over real HTTP, reading the stream as a browser's EventSource would. */
async function connect(api: TestApi) {
  const controller = new AbortController();
  const response = await fetch(new URL('/v1/events', api.url), { signal: controller.signal, headers: { accept: 'text/event-stream', ...api.authorization } });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const queue: SseMessage[] = [];
  /** The next message (event or comment), waiting for the stream if need be. */
  async function next(timeoutMs = 10_000): Promise<SseMessage> {
    const deadline = Date.now() + timeoutMs;
    while (queue.length === 0) {
      const cut = buffer.indexOf('\n\n');
      if (cut >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const message: SseMessage = {};
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) message.comment = line.slice(1).trim();
          else if (line.startsWith('event: ')) message.event = line.slice(7);
          else if (line.startsWith('data: ')) message.data = (message.data ? `${message.data}\n` : '') + line.slice(6);
        }
        queue.push(message);
        continue;
      }
      const read = await Promise.race([reader.read(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no event in time')), Math.max(0, deadline - Date.now())))]);
      if (read.done) throw new Error('the event stream ended');
      buffer += read.value;
    }
    return queue.shift()!;
  }
  /** The next `study` event's data, skipping heartbeats. */
  async function nextStudyEvent(): Promise<{ studyInstanceUid: string; change: string }> {
    for (;;) {
      const message = await next();
      if (message.event === 'study') return JSON.parse(message.data!);
    }
  }
  return { response, next, nextStudyEvent, close: () => controller.abort() };
}

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
      expect(await client.nextStudyEvent()).toEqual({ studyInstanceUid, change: 'review' });
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
      const finding = await api.addFinding(sopInstanceUid, { probability: 0.5 });
      // One per model the CR was queued for: the paediatric model's and the adult model's answers.
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
