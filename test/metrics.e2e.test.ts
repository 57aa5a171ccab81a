/**
 * GET /metrics against `lantern start` (real redis-server, PGlite, a worker process running the
 * bundled ONNX models): real chest films go in over STOW-RS, and the exposition — parsed with a
 * strict text-format parser — counts exactly the work done: one run per film and model (a job, but for
 * the runs the header alone rules out, answered at ingest), the
 * findings the worklist shows by call, the worker's stage timings, the HTTP calls made under
 * their route patterns, and no UID anywhere.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from './support/api-client.ts';
import { withFreshUids } from './support/dicom-builder.ts';
import { parseExposition, samples, valueOf, type Family } from './support/prometheus-text.ts';
import { files } from './support/shared-data.ts';
import { newUser } from './support/sign-in.ts';
import { startStack, waitFor, type Stack } from './support/stack.ts';

const FILMS = [files.chestRaw, files.chestJ2k, files.crJ2k1760];
const OUTCOMES = ['completed', 'not-applicable', 'invalid-input', 'model-not-loaded', 'failed'];

describe('GET /metrics counts the work a real stack did', () => {
  let stack: Stack;
  let api: ReturnType<typeof apiClient>;
  let scraperToken: string;

  beforeAll(async () => {
    stack = await startStack({ workers: 1 });
    api = apiClient(stack.baseUrl, stack.token);
    // A Prometheus scraper signs in as an account of its own with a role allowed to read metrics.
    scraperToken = (await newUser(stack.baseUrl, stack.token, { username: 'prometheus', displayName: 'Prometheus scraper', roles: ['model-team'] })).token;
  });
  afterAll(async () => stack?.stop());

  const scrape = async () => {
    const response = await fetch(new URL('/metrics', stack.baseUrl), { headers: { authorization: `Bearer ${scraperToken}` } });
    expect(response.status).toBe(200);
    const text = await response.text();
    return { text, families: parseExposition(text) };
  };
  const jobsOf = (families: Map<string, Family>, model: string) =>
    OUTCOMES.reduce((sum, outcome) => sum + valueOf(families, 'lantern_read_assist_jobs_total', { model, outcome }), 0);

  it(`when ${FILMS.length} real chest films are uploaded and read by the worker, then every model's jobs, findings and stage timings match what the worklist shows, and the HTTP counts match the calls`, async () => {
    const before = (await scrape()).families;
    const uploaded = [];
    for (const [n, file] of FILMS.entries()) {
      const { status, body } = await api.stow([withFreshUids(fs.readFileSync(file), 9000 + n)]);
      expect(status).toBe(200);
      uploaded.push(body.stored![0]);
    }
    const rows = [];
    for (const { studyInstanceUid } of uploaded) {
      await api.settled(studyInstanceUid, 120_000);
      const { status, body } = await api.study(studyInstanceUid);
      expect(status).toBe(200);
      rows.push(body);
    }
    const findings = rows.flatMap((row) => row.findings);
    const models = [...new Set(findings.map((f) => f.model.id))];
    expect(models.length).toBeGreaterThanOrEqual(2);

    // A result is counted once the results consumer has stored it, a moment after the worklist shows it.
    const { text, families } = await waitFor(async () => {
      const scraped = await scrape();
      return models.every((model) => jobsOf(scraped.families, model) === FILMS.length) ? scraped : undefined;
    }, 'every result to be counted', 30_000);

    let gated = 0;
    for (const model of models) {
      const mine = findings.filter((f) => f.model.id === model);
      const { version } = mine[0].model;
      // One run per film: the first of its findings carries the run's timings (all of them do).
      const runs = rows.map((row) => row.findings.find((f) => f.model.id === model)!);
      const answered = runs.filter((f) => f.applicability?.applicable !== false);
      // A film the header alone rules out (the card's population: the children's model on a film that records no age)
      // was answered "not applicable" at ingest, without a job (pipeline/ingest.ts): no worker parsed it or waited for it.
      // Only out-of-distribution is decided after a run.
      const atIngest = runs.filter((f) => f.applicability?.applicable === false && f.applicability.reason?.code !== 'OUT_OF_DISTRIBUTION');
      gated += atIngest.length;
      expect(valueOf(families, 'lantern_read_assist_jobs_total', { model, version, outcome: 'completed' })).toBe(answered.length);
      expect(valueOf(families, 'lantern_read_assist_jobs_total', { model, version, outcome: 'not-applicable' })).toBe(FILMS.length - answered.length);
      const call = (result: string) => mine.filter((f) => (f.applicability?.applicable === false ? 'not-applicable' : f.positive ? 'positive' : f.refer ? 'refer' : 'negative') === result).length;
      for (const result of ['positive', 'refer', 'negative', 'not-applicable']) {
        expect(samples(families, 'lantern_findings_total', { model, version, result }).reduce((sum, s) => sum + s.value, 0), `${model} ${result}`).toBe(call(result));
      }
      // Every film a job took is parsed; only the films a model answers are decoded and run.
      expect(valueOf(families, 'lantern_inference_stage_duration_seconds_count', { model, version, stage: 'parse' })).toBe(FILMS.length - atIngest.length);
      expect(valueOf(families, 'lantern_inference_stage_duration_seconds_count', { model, version, stage: 'inference' })).toBe(answered.length);
      expect(valueOf(families, 'lantern_read_assist_queue_wait_seconds_count', { model, version })).toBe(FILMS.length - atIngest.length);
      const inferenceMs = answered.reduce((sum, f) => sum + f.timingMs.inference, 0);
      expect(valueOf(families, 'lantern_inference_stage_duration_seconds_sum', { model, version, stage: 'inference' }) * 1000).toBeCloseTo(inferenceMs, 0);
    }

    const calls = (f: Map<string, Family>, method: string, route: string) => valueOf(f, 'lantern_http_request_duration_seconds_count', { method, route, status_class: '2xx' });
    expect(calls(families, 'POST', '/dicomweb/studies') - calls(before, 'POST', '/dicomweb/studies')).toBe(FILMS.length);
    expect(calls(families, 'GET', '/v1/studies/:studyInstanceUid') - calls(before, 'GET', '/v1/studies/:studyInstanceUid')).toBe(FILMS.length);
    for (const { studyInstanceUid, seriesInstanceUid, sopInstanceUid } of uploaded) {
      for (const uid of [studyInstanceUid, seriesInstanceUid, sopInstanceUid]) expect(text).not.toContain(uid);
    }

    // The queue as BullMQ reports it: every job done (one per film and model, but for the runs answered at ingest), none
    // waiting; the API process's event loop and memory.
    expect(gated).toBeGreaterThanOrEqual(1);
    const jobs = models.length * FILMS.length - gated;
    expect(valueOf(families, 'bullmq_job_count', { queue: 'read-assist', state: 'completed' })).toBe(jobs);
    expect(['waiting', 'prioritized', 'active', 'delayed', 'failed'].map((state) => valueOf(families, 'bullmq_job_count', { queue: 'read-assist', state }))).toEqual([0, 0, 0, 0, 0]);
    expect(samples(families, 'lantern_read_assist_waiting_jobs').every((s) => s.value === 0)).toBe(true);
    expect(valueOf(families, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
    expect(valueOf(families, 'process_resident_memory_bytes')).toBeGreaterThan(10e6);
    // The worker process's own, through Redis: it holds ONNX sessions, so far more than an empty Node.
    expect(valueOf(families, 'lantern_worker_process_resident_memory_bytes')).toBeGreaterThan(50e6);
    expect(valueOf(families, 'lantern_worker_nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
  });
});
