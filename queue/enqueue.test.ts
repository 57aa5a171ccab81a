import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReadAssistQueue, type ReadAssistQueue } from './enqueue.ts';
import { READ_ASSIST_QUEUE, readAssistJobId } from './jobs.ts';
import { startPrivateRedis, type PrivateRedis } from './redis-server.ts';

describe('read-assist jobs and their deployment marker', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-enqueue-'));
  let redis: PrivateRedis;
  let connection: Redis;
  let readAssist: ReadAssistQueue;

  beforeAll(async () => {
    redis = await startPrivateRedis(path.join(dir, 'redis'));
    connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    readAssist = createReadAssistQueue({ connection, prefix: 'enqueue-test' });
  });
  afterAll(async () => {
    await readAssist?.close();
    await connection?.quit();
    await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when a clinical job of the least urgent study and a shadow job of the most urgent are queued, then each carries its deployment and the clinical one runs first', async () => {
    const base = (n: number) => ({ sopInstanceUid: `1.2.${n}.1`, studyInstanceUid: `1.2.${n}`, blobSha256: 'a'.repeat(64) });
    await readAssist.enqueue(base(1), [{ modelKey: 'next@2.0.0', deployment: 'shadow' }], 100);
    await readAssist.enqueue(base(2), [{ modelKey: 'current@1.0.0', deployment: 'clinical' }], 0);
    const shadow = (await readAssist.queue.getJob(readAssistJobId('1.2.1.1', 'next@2.0.0')))!;
    const clinical = (await readAssist.queue.getJob(readAssistJobId('1.2.2.1', 'current@1.0.0')))!;
    expect(shadow.data).toMatchObject({ modelKey: 'next@2.0.0', deployment: 'shadow' });
    expect(clinical.data).toMatchObject({ modelKey: 'current@1.0.0', deployment: 'clinical' });
    expect(clinical.priority).toBeLessThan(shadow.priority);
    // BullMQ's own order: what a worker takes next.
    expect((await readAssist.queue.getJobs(['prioritized'], 0, -1, true)).map((j) => j.data.deployment)).toEqual(['clinical', 'shadow']);
  });

  it('when an instance\'s jobs are withdrawn, then those waiting are removed and one a worker has taken runs on', async () => {
    const base = { sopInstanceUid: '1.2.3.1', studyInstanceUid: '1.2.3', blobSha256: 'b'.repeat(64) };
    const models = ['first@1.0.0', 'second@1.0.0'];
    await readAssist.enqueue(base, models.map((modelKey) => ({ modelKey, deployment: 'clinical' as const })), 50);
    // Taken as a worker takes it: moved to active under its lock.
    const taker = new Worker(READ_ASSIST_QUEUE, null, { connection, prefix: 'enqueue-test' });
    try {
      const taken = (await taker.getNextJob('taker'))!;
      expect(taken.data.sopInstanceUid).toBe(base.sopInstanceUid);
      expect(await readAssist.withdraw(base.sopInstanceUid, models)).toBe(1);
      expect(await (await readAssist.queue.getJob(taken.id!))!.getState()).toBe('active');
      const other = models.find((m) => m !== taken.data.modelKey)!;
      expect(await readAssist.queue.getJob(readAssistJobId(base.sopInstanceUid, other))).toBeUndefined();
    } finally {
      await taker.close(true);
    }
  });
});
