import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftAlert, ModelDrift, ModelDriftRunSummary } from '../../contract/model-drift.ts';
import { startTestApi, type TestApi } from '../../test/support/api-role.ts';
import type { apiClient } from '../../test/support/api-client.ts';
import { seedDriftInferences } from '../../test/support/drift-seed.ts';
import { syntheticStream, UNSHIFTED } from '../../tools/drift/synthetic.ts';
import { seededRandom } from '../../inference/seeded-random.ts';
import { redisConnection } from '../../queue/connection.ts';
import { MODEL_DRIFT_QUEUE } from '../../queue/model-drift.ts';
import { waitFor } from '../../test/support/stack.ts';

type Client = ReturnType<typeof apiClient>;
const post = (body?: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
const MODEL = { id: 'pneumonia-cxr', version: '1.0.0' };

describe('/v1/models/{modelId}/drift and drift alerts', () => {
  let api: TestApi;
  let modelTeam: Client;
  let radiologist: Client;
  let firstRun: ModelDriftRunSummary;

  beforeAll(async () => {
    api = await startTestApi();
    // The API role evaluates drift on a schedule that fires at start: let that run (on no data yet)
    // finish first, so that it cannot race the admin's run below to raise the alerts.
    const connection = redisConnection(api.config.redisUrl);
    const scheduled = new Queue(MODEL_DRIFT_QUEUE, { connection, prefix: api.config.queuePrefix });
    await waitFor(async () => {
      const counts = await scheduled.getJobCounts('waiting', 'active', 'prioritized');
      return counts.waiting + counts.active + counts.prioritized === 0 || undefined;
    }, 'the start-up drift evaluation');
    await scheduled.close();
    await connection.quit();
    // Reference 500 and one quiet window of 200, then a window of brighter images (+0.05, one film-to-film sd).
    const random = seededRandom(42);
    const quiet = syntheticStream(700, UNSHIFTED, random, Date.UTC(2026, 10, 1));
    const bright = syntheticStream(200, { ...UNSHIFTED, brightness: 0.05 }, random, Date.UTC(2026, 10, 2));
    await seedDriftInferences(api.store.db, MODEL, [...quiet, ...bright]);
    modelTeam = (await api.signIn('model-person', ['model-team'])).client;
    radiologist = (await api.signIn('reader', ['radiologist'])).client;
    const run = await api.client.json<ModelDriftRunSummary>('/v1/model-drift/run', post());
    expect(run.status).toBe(200);
    firstRun = run.body;
  });
  afterAll(async () => api?.stop());

  it('when an admin runs the evaluation, then the brighter window alerts on the input quantities and the quiet one does not, audited with the admin who ran it', async () => {
    const model = firstRun.models.find((m) => m.modelId === MODEL.id)!;
    expect(model).toMatchObject({ versions: 1, windows: 2 });
    expect(model.raised.length).toBeGreaterThan(0);
    const drift = await modelTeam.json<ModelDrift>(`/v1/models/${MODEL.id}/drift`);
    expect(drift.status).toBe(200);
    const [version] = drift.body.versions;
    expect(version.reference).toMatchObject({ size: 500 });
    expect(version.windows.map((w) => w.complete)).toEqual([true, true]);
    expect(version.windows[0].psi['input-mean']).toBeLessThan(0.1);
    expect(version.windows[1].psi['input-mean']).toBeGreaterThan(0.25);
    expect(new Set(drift.body.alerts.map((a) => a.windowIndex))).toEqual(new Set([1]));
    expect(drift.body.alerts.map((a) => a.quantity)).toContain('input-mean');
    expect(drift.body.aiAssisted).toMatch(/AI/);
    const audit = await api.client.audit('?action=model.drift-alert&limit=100');
    expect(audit.map((r) => r.entityId).sort()).toEqual(model.raised.slice().sort());
    expect(audit.every((r) => r.actor === 'tester')).toBe(true);
  });

  it('when the evaluation runs again, then nothing is raised twice', async () => {
    const again = await api.client.json<ModelDriftRunSummary>('/v1/model-drift/run', post());
    expect(again.body.models.find((m) => m.modelId === MODEL.id)!.raised).toEqual([]);
  });

  it('when a model-team user acknowledges an alert with a note, then it is acknowledged once, by them, audited; a second acknowledgement keeps the first', async () => {
    const [alert] = (await modelTeam.json<ModelDrift>(`/v1/models/${MODEL.id}/drift`)).body.alerts;
    const ack = await modelTeam.json<DriftAlert>(`/v1/model-drift-alerts/${alert.id}/acknowledge`, post({ note: 'new detector at site main' }));
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({ status: 'acknowledged', acknowledgement: { by: 'model-person', note: 'new detector at site main' } });
    const twice = await api.client.json<DriftAlert>(`/v1/model-drift-alerts/${alert.id}/acknowledge`, post({ note: 'again' }));
    expect(twice.body.acknowledgement).toMatchObject({ by: 'model-person' });
    const audit = await api.client.audit(`?action=model.drift-alert-acknowledged&limit=10`);
    expect(audit.filter((r) => r.entityId === alert.id).map((r) => r.actor)).toEqual(['model-person']);
  });

  it('when the request is bad or the caller may not, then a specific 4xx and nothing stored', async () => {
    expect((await modelTeam.json(`/v1/models/no-such-model/drift`)).status).toBe(404);
    expect((await modelTeam.json(`/v1/model-drift-alerts/nope/acknowledge`, post({ note: 'x' }))).status).toBe(404);
    const [alert] = (await modelTeam.json<ModelDrift>(`/v1/models/${MODEL.id}/drift`)).body.alerts.filter((a) => a.status === 'open');
    expect((await modelTeam.json(`/v1/model-drift-alerts/${alert.id}/acknowledge`, post({ note: '' }))).status).toBe(422);
    expect((await radiologist.json(`/v1/models/${MODEL.id}/drift`)).status).toBe(403);
    expect((await radiologist.json(`/v1/model-drift-alerts/${alert.id}/acknowledge`, post({ note: 'x' }))).status).toBe(403);
    expect((await modelTeam.json('/v1/model-drift/run', post())).status).toBe(403);
    const still = (await modelTeam.json<ModelDrift>(`/v1/models/${MODEL.id}/drift`)).body.alerts.find((a) => a.id === alert.id)!;
    expect(still.status).toBe('open');
  });
});
