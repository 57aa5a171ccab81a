import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultJob } from '../../contract/jobs.ts';
import { createModelDrift } from '../../pipeline/model-drift.ts';
import { RESULTS_QUEUE, resultJobId } from '../../queue/jobs.ts';
import { startTestApi, type TestApi } from '../../test/support/api-role.ts';
import { parseExposition, samples, valueOf } from '../../test/support/prometheus-text.ts';
import { waitFor } from '../../test/support/stack.ts';
import { createApiMetrics } from '../metrics.ts';

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

describe('GET /metrics', () => {
  let api: TestApi;
  let modelTeam: string;
  let radiologist: string;
  let redis: Redis;
  let results: Queue<ResultJob>;

  beforeAll(async () => {
    api = await startTestApi();
    modelTeam = (await api.signIn('model-person', ['model-team'])).token;
    radiologist = (await api.signIn('reader', ['radiologist'])).token;
    redis = new Redis(api.config.redisUrl, { maxRetriesPerRequest: null });
    results = new Queue<ResultJob>(RESULTS_QUEUE, { connection: redis, prefix: api.config.queuePrefix });
  });
  afterAll(async () => {
    await results?.close();
    await redis?.quit();
    await api?.stop();
  });

  const scrape = async (token = modelTeam) => {
    const response = await fetch(`${api.url}/metrics`, bearer(token));
    expect(response.status).toBe(200);
    const text = await response.text();
    return { text, families: parseExposition(text), contentType: response.headers.get('content-type') };
  };

  it('when nobody signs in, then 401; when a radiologist does, then 403; when a model team member or an admin does, then 200 in the text format 0.0.4', async () => {
    expect((await fetch(`${api.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${api.url}/metrics`, bearer(radiologist))).status).toBe(403);
    expect((await scrape(modelTeam)).contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect((await scrape(api.token)).families.size).toBeGreaterThan(10);
  });

  it('when a film is uploaded and its study read, then the HTTP histogram counts each call under its route pattern, no UID appears anywhere, and the queue shows its waiting jobs by triage level', async () => {
    const before = (await scrape()).families;
    const { studyInstanceUid, sopInstanceUid } = await api.addStudy();
    expect((await api.client.study(studyInstanceUid)).status).toBe(200);
    const { text, families } = await scrape();

    const calls = (f: typeof families, method: string, route: string) => valueOf(f, 'lantern_http_request_duration_seconds_count', { method, route, status_class: '2xx' });
    expect(calls(families, 'POST', '/dicomweb/studies') - calls(before, 'POST', '/dicomweb/studies')).toBe(1);
    expect(calls(families, 'GET', '/v1/studies/:studyInstanceUid') - calls(before, 'GET', '/v1/studies/:studyInstanceUid')).toBe(1);
    // The refusals of the first test were timed too, under the route that refused them.
    expect(valueOf(families, 'lantern_http_request_duration_seconds_count', { method: 'GET', route: '/metrics', status_class: '4xx' })).toBe(2);
    for (const uid of [studyInstanceUid, sopInstanceUid]) expect(text).not.toContain(uid);
    const routes = new Set(samples(families, 'lantern_http_request_duration_seconds_count').map((s) => s.labels.route));
    expect([...routes].filter((route) => /\d+\.\d+\.\d+/.test(route))).toEqual([]);

    // No worker runs here: the film's one job waits, at the priority of an unread study (level IV). The film records no
    // age: the adult model reads it (its job), the children's model (pneumonia-cxr) was answered "not applicable" at
    // ingest from the header, without a job (pipeline/ingest.ts).
    expect(valueOf(families, 'lantern_queue_metrics_up')).toBe(1);
    const waiting = valueOf(families, 'bullmq_job_count', { queue: 'read-assist', state: 'prioritized' }) + valueOf(families, 'bullmq_job_count', { queue: 'read-assist', state: 'waiting' });
    expect(waiting).toBe(1);
    const byLevel = Object.fromEntries(samples(families, 'lantern_read_assist_waiting_jobs').map((s) => [s.labels.level, s.value]));
    expect(Object.keys(byLevel).sort()).toEqual(['I', 'II', 'III', 'IV', 'other']);
    expect(byLevel.IV).toBe(waiting);
    expect(valueOf(families, 'bullmq_job_count', { queue: 'results', state: 'active' })).toBe(0);
    // The API process's own: event-loop lag and memory (prom-client's default metrics).
    expect(valueOf(families, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(valueOf(families, 'process_resident_memory_bytes')).toBeGreaterThan(10e6);
  });

  it('when a worker hands back a result through the results queue, then once it is stored the model\'s job, finding and stage counts include it', async () => {
    const { sopInstanceUid } = await api.addStudy();
    const [model] = (await api.client.json<{ models: { id: string; version: string; weightsSha256: string; task: string }[] }>('/health')).body.models
      .filter((m) => m.id === 'pneumonia-cxr');
    const result: ResultJob = {
      kind: 'findings', sopInstanceUid, modelKey: `${model.id}@${model.version}`,
      findings: [{
        id: `metrics-test-${sopInstanceUid}`, label: 'pneumonia', display: 'Pneumonia', probability: 0.91, positive: true, refer: false,
        operatingPoint: { name: 'balanced', threshold: 0.5 },
        model: { id: model.id, version: model.version, weightsSha256: model.weightsSha256, preprocessing: 'grey-square@1' },
        timingMs: { queueWait: 40, parse: 1.5, decode: 3, preprocess: 7, inference: 42, postprocess: 0.5 },
        applicability: { applicable: true, caveats: [] },
      }],
    };
    await results.add('findings', result, { jobId: resultJobId(`metrics-test-${sopInstanceUid}`) });

    const of = { model: model.id, version: model.version };
    const families = await waitFor(async () => {
      const scraped = (await scrape()).families;
      return valueOf(scraped, 'lantern_read_assist_jobs_total', { ...of, outcome: 'completed' }) === 1 ? scraped : undefined;
    }, 'the stored result to be counted', 20_000);
    expect(valueOf(families, 'lantern_findings_total', { ...of, label: 'pneumonia', result: 'positive' })).toBe(1);
    expect(valueOf(families, 'lantern_inference_stage_duration_seconds_count', { ...of, stage: 'inference' })).toBe(1);
    expect(valueOf(families, 'lantern_inference_stage_duration_seconds_sum', { ...of, stage: 'inference' })).toBeCloseTo(0.042);
    expect(valueOf(families, 'lantern_read_assist_queue_wait_seconds_count', of)).toBe(1);
  });

  it('when a model version has a complete drift window, then its drift score and each quantity\'s PSI are gauges with the values the drift monitor computes, reused between scrapes', async () => {
    // The shipped policy needs 700 inferences; a small one shows the same path on a few real findings.
    const drift = createModelDrift({ store: api.store, policy: { referenceSize: 4, windowSize: 2, thresholds: { moderate: 0.1, drift: 0.25 } } });
    for (const probability of [0.1, 0.2, 0.3, 0.4, 0.95, 0.97]) await api.addFinding((await api.addStudy()).sopInstanceUid, { probability, model: 'nih-cxr-abnormal' });
    const [scores, metrics] = [await drift.currentScores(), createApiMetrics({ driftScores: () => drift.currentScores() })];
    const scored = scores.find((s) => s.modelId === 'nih-cxr-abnormal' && s.psi !== null)!;
    expect(scored.psi).toBeGreaterThan(0);

    const families = parseExposition(await metrics.drift());
    expect(valueOf(families, 'lantern_model_drift_score', { model: 'nih-cxr-abnormal', version: scored.version })).toBeCloseTo(scored.psi!, 9);
    for (const [quantity, psi] of Object.entries(scored.byQuantity).filter(([, v]) => v !== null)) {
      expect(valueOf(families, 'lantern_model_drift_psi', { model: 'nih-cxr-abnormal', version: scored.version, quantity })).toBeCloseTo(psi!, 9);
    }
    // Within the reuse period a new window changes nothing: the scores are not recomputed per scrape.
    await api.addFinding((await api.addStudy()).sopInstanceUid, { probability: 0.99, model: 'nih-cxr-abnormal' });
    await api.addFinding((await api.addStudy()).sopInstanceUid, { probability: 0.99, model: 'nih-cxr-abnormal' });
    expect(await metrics.drift()).toBe(await metrics.drift());
    expect(parseExposition(await metrics.drift()).get('lantern_model_drift_score')!.samples).toEqual(families.get('lantern_model_drift_score')!.samples);
  });
});
