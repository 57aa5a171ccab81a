/**
 * The read-assist worker against a real redis-server and the real model registry: a job
 * whose data breaks the contract fails at once with the reason and is never retried (a
 * retry cannot repair it), and the worker goes on to the next job. A stored object whose
 * pixels would blow the worker's budget (an RLE frame expanding 64:1 to over 256 MiB: a
 * 16 MiB file of this shape once held a worker at 11.4 GB for 4 minutes) fails its job at
 * once as bad input, before any decoder allocates the frame. Ingest refuses such an upload;
 * this is the object stored before the limit, or by another path.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../config.ts';
import { rleBomb } from '../dicom/hostile-files.ts';
import { dicomLimits } from '../dicom/limits.ts';
import { loadModelRegistry, type ModelRegistry } from '../inference/registry.ts';
import { READ_ASSIST_QUEUE, RESULTS_QUEUE, type ReadAssistJob } from '../queue/jobs.ts';
import { startPrivateRedis, type PrivateRedis } from '../queue/redis-server.ts';
import { createBlobStore } from '../store/blobs.ts';
import { waitFor } from '../test/support/stack.ts';
import { createReadAssistWorker } from './read-assist-worker.ts';

const prefix = 'read-assist-worker-test';

describe('read-assist worker', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-worker-'));
  const blobs = createBlobStore(path.join(dir, 'blobs'));
  let redis: PrivateRedis;
  let registry: ModelRegistry;
  let worker: ReturnType<typeof createReadAssistWorker>;
  let jobs: Queue;
  let events: QueueEvents;
  let results: Queue;

  beforeAll(async () => {
    redis = await startPrivateRedis(path.join(dir, 'redis'));
    registry = await loadModelRegistry(path.join(repoRoot, 'models'), { threads: 1 });
    worker = createReadAssistWorker({ redisUrl: redis.url, prefix, registry, blobs, concurrency: 1, lockDurationMs: 10_000, dicomLimits: dicomLimits() });
    worker.start();
    jobs = new Queue(READ_ASSIST_QUEUE, { connection: { url: redis.url }, prefix });
    results = new Queue(RESULTS_QUEUE, { connection: { url: redis.url }, prefix });
    events = new QueueEvents(READ_ASSIST_QUEUE, { connection: { url: redis.url }, prefix });
    await events.waitUntilReady();
  });
  afterAll(async () => {
    await events?.close();
    await jobs?.close();
    await results?.close();
    await worker?.stop(1000);
    await registry?.close();
    await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when a job breaks the contract, then it fails at once naming the field, unretried, and hands nothing back', async () => {
    const broken = { sopInstanceUid: '1.2.3', studyInstanceUid: '1.2', blobSha256: 'not-a-hash', modelKey: 'pneumonia-cxr@1.1.0', deployment: 'clinical' } satisfies ReadAssistJob;
    const job = await jobs.add('read', broken, { jobId: 'broken-1', attempts: 5, backoff: { type: 'fixed', delay: 100 } });
    await expect(job.waitUntilFinished(events, 20_000)).rejects.toThrow(/read-assist job breaks the contract: blobSha256/);
    expect((await jobs.getJob(job.id!))!.attemptsMade).toBe(1);
    expect(await results.count()).toBe(0);
  });

  it('when the next job names a model this worker does not have, then it still runs and fails visibly', async () => {
    const job = await jobs.add('read', { sopInstanceUid: '1.2.4', studyInstanceUid: '1.2', blobSha256: 'a'.repeat(64), modelKey: 'no-such-model@1.0.0', deployment: 'clinical' } satisfies ReadAssistJob,
      { jobId: 'unknown-model-1', attempts: 5 });
    await expect(job.waitUntilFinished(events, 20_000)).rejects.toThrow();
    const [handedBack] = await results.getJobs(['waiting', 'prioritized', 'delayed']);
    expect(handedBack.data).toMatchObject({ kind: 'failure', sopInstanceUid: '1.2.4', error: { code: 'MODEL_NOT_LOADED' } });
  });

  it('when a job stops the workers that take it (a crash, a hang) twice, then the next worker fails it unrun and hands back a visible WORKER_STOPPED failure', async () => {
    // A queue of its own: the suite's worker must not take the job first.
    const stallPrefix = `${prefix}-stall`;
    const connection = { url: redis.url };
    const queue = new Queue(READ_ASSIST_QUEUE, { connection, prefix: stallPrefix });
    const handedBack = new Queue(RESULTS_QUEUE, { connection, prefix: stallPrefix });
    const model = registry.models.find((m) => m.card.task === 'read-assist')!;
    const data = { sopInstanceUid: '1.2.5', studyInstanceUid: '1.2', blobSha256: 'b'.repeat(64), modelKey: model.key, deployment: 'clinical' } satisfies ReadAssistJob;
    await queue.add('read', data, { jobId: 'stops-workers-1', attempts: 5 });
    // Each of these takes the job and is then stopped without finishing it, as a worker that crashed or hung
    // on it: its lock (300 ms) lapses, and the next one's stall check takes the job back.
    for (let stopped = 0; stopped < 2; stopped++) {
      let taken!: () => void;
      const running = new Promise<void>((resolve) => { taken = resolve; });
      const doomed = new Worker(READ_ASSIST_QUEUE, () => { taken(); return new Promise(() => undefined); },
        { connection, prefix: stallPrefix, lockDuration: 300, stalledInterval: 150 });
      await running;
      await doomed.close(true);
    }
    const next = createReadAssistWorker({ redisUrl: redis.url, prefix: stallPrefix, registry, blobs, concurrency: 1, lockDurationMs: 300, dicomLimits: dicomLimits() });
    next.start();
    try {
      const failed = await new Promise<string>((resolve) => next.worker.once('failed', (_job, error) => resolve(error.message)));
      expect(failed).toMatch(/stalled more than allowable limit/);
      const result = await waitFor(async () => (await handedBack.getJobs(['waiting', 'prioritized', 'delayed']))[0], 'the failure handed back', 5_000);
      expect(result.data).toMatchObject({ kind: 'failure', sopInstanceUid: '1.2.5', error: { code: 'WORKER_STOPPED' } });
      expect((await queue.getJob('stops-workers-1'))!.attemptsStarted, 'not run a third time').toBe(3);
    } finally {
      await next.stop(1000);
      await queue.close();
      await handedBack.close();
    }
  }, 30_000);

  it('when a job\'s image would decode past the frame budget, then it fails at once as DICOM_FRAME_TOO_LARGE, unretried, handed back as a visible failure, and memory stays flat', async () => {
    const root = '1.2.826.0.1.3680043.10.996.1';
    // 16,400 × 16,400 8-bit pixels (269 MB decoded) from about 4 MB of PackBits runs.
    const bomb = rleBomb(root, 16_400, 16_400);
    const blobSha256 = await blobs.put(bomb);
    const model = registry.models.find((m) => m.card.task === 'read-assist')!;
    const rssBefore = process.memoryUsage().rss;
    const job = await jobs.add('read', { sopInstanceUid: `${root}.3`, studyInstanceUid: `${root}.1`, blobSha256, modelKey: model.key, deployment: 'clinical' } satisfies ReadAssistJob,
      { jobId: 'rle-bomb-1', attempts: 5, backoff: { type: 'fixed', delay: 100 } });
    await expect(job.waitUntilFinished(events, 30_000)).rejects.toThrow(/DICOM_FRAME_TOO_LARGE/);
    expect((await jobs.getJob(job.id!))!.attemptsMade).toBe(1);
    // The failure is handed back (the instance shows it), once, with the limit's code.
    const handedBack = (await results.getJobs(['waiting', 'delayed', 'prioritized'])).filter((r) => r.data.sopInstanceUid === `${root}.3`);
    expect(handedBack).toHaveLength(1);
    expect(JSON.stringify(handedBack[0].data)).toContain('DICOM_FRAME_TOO_LARGE');
    const grewMb = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
    console.info(`worker RSS grew ${grewMb.toFixed(0)} MiB on a 64:1 RLE bomb of ${(bomb.length / 1024 / 1024).toFixed(1)} MiB`);
    expect(grewMb).toBeLessThan(200);
  }, 60_000);
});
