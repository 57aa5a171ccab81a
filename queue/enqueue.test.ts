import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReadAssistQueue, type ReadAssistQueue } from './enqueue.ts';
import { readAssistJobId } from './jobs.ts';
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
});
