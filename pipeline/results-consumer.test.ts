/**
 * The results consumer against a real redis-server and PGlite: a result that overtakes
 * its instance's database write (ingest starts the job before the write commits) waits
 * for the write and is persisted once; one whose instance never arrives is retried, not
 * lost, and lands when a re-upload records the instance; a clinical result completes once
 * its findings are committed and their SR is queued, and is retried if the SR cannot be.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AI_RESULTS_SR_QUEUE, aiResultsSrJobId, type AiResultsSrJob } from '../queue/ai-results-sr.ts';
import { RESULTS_QUEUE, type ResultJob } from '../queue/jobs.ts';
import { startPrivateRedis, type PrivateRedis } from '../queue/redis-server.ts';
import { openDatabase } from '../store/db.ts';
import { migrate } from '../store/migrate.ts';
import { createStore, type Store } from '../store/store.ts';
import { finding, newInstance } from '../store/test-fixtures.ts';
import { createInstanceWrites } from './instance-writes.ts';
import { createResultsConsumer } from './results-consumer.ts';

const prefix = 'results-test';

const findingsFor = (sop: string): ResultJob => ({ kind: 'findings', sopInstanceUid: sop, modelKey: 'pneumonia-cxr@1.0.0', findings: [finding(sop, 0.9)] });

describe('results consumer', () => {
  let redis: PrivateRedis;
  let store: Store;
  let results: Queue<ResultJob>;
  let events: QueueEvents;
  let consumer: ReturnType<typeof createResultsConsumer>;
  const instanceWrites = createInstanceWrites();
  const findingIds = async (sop: string) =>
    (await store.db.query<{ id: string }>('select id from findings where sop_instance_uid = $1', [sop])).rows.map((r) => r.id);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-results-'));

  beforeAll(async () => {
    redis = await startPrivateRedis(path.join(dir, 'redis'));
    const db = await openDatabase({ pgliteDir: 'memory://' });
    await migrate(db);
    store = createStore(db, { prioritise: () => ({ priority: 10, why: 'test', whyZh: '测试' }) });
    consumer = createResultsConsumer({ redisUrl: redis.url, prefix, store, instanceWrites });
    results = new Queue<ResultJob>(RESULTS_QUEUE, { connection: { url: redis.url }, prefix });
    events = new QueueEvents(RESULTS_QUEUE, { connection: { url: redis.url }, prefix });
    await events.waitUntilReady();
  });
  afterAll(async () => {
    await events?.close();
    await results?.close();
    await consumer?.stop();
    await store?.close();
    await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when a result arrives while its instance is still being written, then it waits and is persisted once', async () => {
    const input = newInstance();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const write = instanceWrites.track(input.sopInstanceUid, gate.then(() => store.recordInstance(input, 'test')));

    const job = await results.add('findings', findingsFor(input.sopInstanceUid), { jobId: `early-${input.sopInstanceUid}`, attempts: 5, backoff: { type: 'fixed', delay: 200 } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Still waiting on the write: nothing persisted, and the job has not failed an attempt.
    expect(await findingIds(input.sopInstanceUid)).toEqual([]);
    expect((await results.getJob(job.id!))!.attemptsMade).toBe(0);

    release();
    await write;
    await job.waitUntilFinished(events, 10_000);
    expect(await findingIds(input.sopInstanceUid)).toEqual([finding(input.sopInstanceUid).id]);
    expect((await results.getJob(job.id!))!.attemptsMade).toBe(1);
  });

  it('when a result arrives for an instance that is not recorded, then it is retried and lands once the instance is', async () => {
    const input = newInstance();
    const job = await results.add('findings', findingsFor(input.sopInstanceUid), { jobId: `orphan-${input.sopInstanceUid}`, attempts: 20, backoff: { type: 'fixed', delay: 100 } });
    const retried = await (async () => {
      for (let i = 0; i < 100; i++) {
        if ((await results.getJob(job.id!))!.attemptsMade >= 1) return true;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return false;
    })();
    expect(retried).toBe(true);
    await store.recordInstance(input, 'test');
    await job.waitUntilFinished(events, 10_000);
    expect(await findingIds(input.sopInstanceUid)).toEqual([finding(input.sopInstanceUid).id]);
  });

  it('when a clinical result\'s findings are committed, then its job completes once their SR is queued (no worker writes it here), and a result whose SR cannot be queued is retried', async () => {
    const srPrefix = `${prefix}-sr`;
    const srQueue = new Queue<AiResultsSrJob>(AI_RESULTS_SR_QUEUE, { connection: { url: redis.url }, prefix: srPrefix });
    let refusals = 1;
    const queueSr = async (sopInstanceUid: string, modelKey: string) => {
      // Redis refuses the first time (down for a moment): the findings are committed, but the job must not complete.
      if (refusals-- > 0) throw new Error('Redis is away');
      const job: AiResultsSrJob = { kind: 'findings', sopInstanceUid, modelKey };
      await srQueue.add(job.kind, job, { jobId: aiResultsSrJobId(job) });
    };
    const srConsumer = createResultsConsumer({ redisUrl: redis.url, prefix: srPrefix, store, instanceWrites, onFindings: queueSr });
    const srResults = new Queue<ResultJob>(RESULTS_QUEUE, { connection: { url: redis.url }, prefix: srPrefix });
    const srEvents = new QueueEvents(RESULTS_QUEUE, { connection: { url: redis.url }, prefix: srPrefix });
    try {
      await srEvents.waitUntilReady();
      const input = newInstance();
      await store.recordInstance(input, 'test');
      const job = await srResults.add('findings', findingsFor(input.sopInstanceUid), { jobId: `sr-${input.sopInstanceUid}`, attempts: 5, backoff: { type: 'fixed', delay: 100 } });
      await job.waitUntilFinished(srEvents, 10_000);
      expect((await srResults.getJob(job.id!))!.attemptsMade).toBe(2);
      expect(await findingIds(input.sopInstanceUid)).toEqual([finding(input.sopInstanceUid).id]);
      const sr = await srQueue.getJob(aiResultsSrJobId({ kind: 'findings', sopInstanceUid: input.sopInstanceUid, modelKey: 'pneumonia-cxr@1.0.0' }));
      expect(await sr?.getState()).toBe('waiting');
    } finally {
      await srEvents.close();
      await srResults.close();
      await srConsumer.stop();
      await srQueue.close();
    }
  });

  it('when a result breaks the contract, then it fails at once with the reason, unretried, and writes nothing', async () => {
    const input = newInstance();
    await store.recordInstance(input, 'test');
    const broken = { ...finding(input.sopInstanceUid), probability: 1.7 };
    const job = await results.add('findings', { kind: 'findings', sopInstanceUid: input.sopInstanceUid, modelKey: 'pneumonia-cxr@1.0.0', findings: [broken] },
      { jobId: `broken-${input.sopInstanceUid}`, attempts: 5, backoff: { type: 'fixed', delay: 100 } });
    await expect(job.waitUntilFinished(events, 10_000)).rejects.toThrow(/result breaks the contract: findings\.0\.probability/);
    const failed = (await results.getJob(job.id!))!;
    expect(failed.attemptsMade).toBe(1);
    expect(await findingIds(input.sopInstanceUid)).toEqual([]);
  });
});
