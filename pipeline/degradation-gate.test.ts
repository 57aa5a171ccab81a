/**
 * The worker's side of the degradation ladder, against a real redis-server, the real model
 * registry and a real adult chest film: the step the controller sets in Redis decides, per job
 * and by its triage level, whether it runs whole, runs without a heatmap, or waits.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, QueueEvents, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../config.ts';
import type { ResultJob } from '../contract/jobs.ts';
import { dicomLimits } from '../dicom/limits.ts';
import { HEATMAP_SKIPPED } from '../inference/read-assist.ts';
import { loadModelRegistry, type ModelRegistry } from '../inference/registry.ts';
import { redisConnection } from '../queue/connection.ts';
import type { DegradationStep } from '../queue/degradation.ts';
import { bullmqPriority, READ_ASSIST_QUEUE, RESULTS_QUEUE, type ReadAssistJob } from '../queue/jobs.ts';
import { degradationStepStore } from '../queue/latency.ts';
import { startPrivateRedis, type PrivateRedis } from '../queue/redis-server.ts';
import { createBlobStore } from '../store/blobs.ts';
import { sharedData } from '../test/support/shared-data.ts';
import { createDegradationGate } from './degradation-gate.ts';
import { createReadAssistWorker } from './read-assist-worker.ts';

const prefix = 'degradation-gate-test';

describe('read-assist worker under the degradation ladder', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-gate-'));
  const blobs = createBlobStore(path.join(dir, 'blobs'));
  let server: PrivateRedis;
  let redis: Redis;
  let registry: ModelRegistry;
  let worker: ReturnType<typeof createReadAssistWorker>;
  let jobs: Queue<ReadAssistJob>;
  let results: Queue<ResultJob>;
  let events: QueueEvents;
  let blobSha256: string;
  let modelKey: string;
  let n = 0;

  const setStep = async (step: DegradationStep) => {
    const steps = degradationStepStore(redis, prefix);
    const from = await steps.read();
    if (from.step !== step) await steps.change(from, step, Date.now());
  };
  /** A job of triage priority `priority` (II: 70, III: 40, IV: 10), clinical or shadow. */
  const add = (priority: number, deployment: 'clinical' | 'shadow' = 'clinical') => {
    const uid = `1.2.826.0.1.3680043.10.997.${++n}`;
    return jobs.add('read', { sopInstanceUid: uid, studyInstanceUid: '1.2.826.0.1.3680043.10.997', blobSha256, modelKey, deployment }, { jobId: `gate-${n}`, priority: bullmqPriority(priority) });
  };
  const resultOf = async (sopInstanceUid: string) => (await results.getJobs(['waiting', 'prioritized', 'delayed'])).find((r) => r.data.sopInstanceUid === sopInstanceUid)?.data;

  beforeAll(async () => {
    server = await startPrivateRedis(path.join(dir, 'redis'));
    redis = redisConnection(server.url);
    registry = await loadModelRegistry(path.join(repoRoot, 'models'), { threads: 1 });
    modelKey = registry.models.find((m) => m.card.id === 'cxr-pneumonia-adult')!.key;
    blobSha256 = await blobs.put(new Uint8Array(fs.readFileSync(path.join(sharedData, 'dicom', 'pydicom-data/files/RG1_J2KI.dcm'))));
    // Steps re-read at once; a deferred job waits 60 s (longer than this test), so a deferral is seen as such.
    worker = createReadAssistWorker({ redisUrl: server.url, prefix, registry, blobs, concurrency: 1, lockDurationMs: 10_000, dicomLimits: dicomLimits(), degradation: { refreshMs: 0, deferMs: 60_000 } });
    worker.start();
    jobs = new Queue(READ_ASSIST_QUEUE, { connection: redis, prefix });
    results = new Queue(RESULTS_QUEUE, { connection: redis, prefix });
    events = new QueueEvents(READ_ASSIST_QUEUE, { connection: { url: server.url }, prefix });
    await events.waitUntilReady();
  }, 60_000);
  afterAll(async () => {
    await events?.close();
    await jobs?.close();
    await results?.close();
    await worker?.stop(1000);
    await registry?.close();
    await redis?.quit();
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when the step is normal, then a level IV job runs whole: findings with a heatmap', async () => {
    await setStep(0);
    const job = await add(10);
    await job.waitUntilFinished(events, 30_000);
    const result = await resultOf(job.data.sopInstanceUid);
    expect(result).toMatchObject({ kind: 'findings' });
    expect(result!.kind === 'findings' && result!.findings[0].heatmap).toBeTruthy();
  }, 40_000);

  it('when the step is skip-low-level-heatmaps, then a level III job runs without its heatmap and says so, a level II job keeps it, and a shadow job is deferred', async () => {
    await setStep(2);
    const [low, high, shadow] = [await add(40), await add(70), await add(70, 'shadow')];
    await Promise.all([low.waitUntilFinished(events, 30_000), high.waitUntilFinished(events, 30_000)]);
    const [lowResult, highResult] = [await resultOf(low.data.sopInstanceUid), await resultOf(high.data.sopInstanceUid)];
    if (lowResult?.kind !== 'findings' || highResult?.kind !== 'findings') throw new Error('expected findings');
    expect(lowResult.findings[0].heatmap).toBeUndefined();
    expect(lowResult.findings[0].applicability!.caveats).toContainEqual(HEATMAP_SKIPPED);
    expect(highResult.findings[0].heatmap).toBeTruthy();
    await expect.poll(() => shadow.getState(), { timeout: 10_000 }).toBe('delayed');
    expect(await resultOf(shadow.data.sopInstanceUid)).toBeUndefined();
  }, 40_000);

  it('when the step is defer-level-iv, then a level IV job waits (delayed, its priority and upload time kept) and runs whole once the step is left', async () => {
    await setStep(3);
    const job = await add(10);
    await expect.poll(() => job.getState(), { timeout: 10_000 }).toBe('delayed');
    const deferred = (await jobs.getJob(job.id!))!;
    expect(deferred.priority).toBe(bullmqPriority(10));
    expect(deferred.timestamp).toBe(job.timestamp);
    expect(await resultOf(job.data.sopInstanceUid)).toBeUndefined();
    await setStep(0);
    await deferred.promote();
    await job.waitUntilFinished(events, 30_000);
    const result = await resultOf(job.data.sopInstanceUid);
    expect(result!.kind === 'findings' && result!.findings[0].heatmap).toBeTruthy();
  }, 40_000);

  it('when the step changes, then every job planned `refreshMs` or more after the change is planned by it, however often jobs came between', async () => {
    await setStep(0);
    const refreshMs = 300;
    const gate = createDegradationGate({ redis, prefix, registry, refreshMs, deferMs: 60_000 });
    const levelIv = { priority: bullmqPriority(10), data: { deployment: 'clinical' } } as Job<{ deployment?: string }>;
    expect((await gate.plan(levelIv)).step).toBe(0);
    await setStep(3);
    const changedAt = Date.now();
    // A steady flow meanwhile: jobs inside the window may still see the old step, and renew it in the background.
    while (Date.now() - changedAt < refreshMs) {
      expect([0, 3]).toContain((await gate.plan(levelIv)).step);
      await sleep(20);
    }
    const plan = await gate.plan(levelIv);
    expect(plan.step).toBe(3);
    expect(plan.deferUntil).toBeGreaterThan(Date.now());
    await setStep(0);
  });
});
