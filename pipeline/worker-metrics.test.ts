import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateRedis, type PrivateRedis } from '../queue/redis-server.ts';
import { parseExposition, valueOf } from '../test/support/prometheus-text.ts';
import { publishWorkerMetrics, workerMetricsExposition } from './worker-metrics.ts';

describe('worker process metrics through Redis', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-worker-metrics-'));
  let server: PrivateRedis;
  let redis: Redis;

  beforeAll(async () => {
    server = await startPrivateRedis(path.join(dir, 'redis'));
    redis = new Redis(server.url, { maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    await redis?.quit();
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when two workers publish, then the API reads their memory summed; when one stops, then it drops out once its snapshot lapses', async () => {
    const ttlMs = 600;
    const a = publishWorkerMetrics({ redis, prefix: 't', workerId: 'a', intervalMs: 60_000, ttlMs });
    const b = publishWorkerMetrics({ redis, prefix: 't', workerId: 'b', intervalMs: 60_000, ttlMs: 60_000 });
    await Promise.all([a.publish(), b.publish()]);
    a.stop();
    b.stop();

    const both = parseExposition(await workerMetricsExposition(redis, 't'));
    const one = JSON.parse((await redis.get('t:metrics:worker:b'))!) as { name: string; values: { value: number }[] }[];
    const memoryOfOne = one.find((m) => m.name === 'lantern_worker_process_resident_memory_bytes')!.values[0].value;
    // Both snapshots come from this process, so the sum is about twice one of them.
    expect(valueOf(both, 'lantern_worker_process_resident_memory_bytes') / memoryOfOne).toBeCloseTo(2, 1);
    expect(valueOf(both, 'lantern_worker_nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);

    await new Promise((resolve) => setTimeout(resolve, ttlMs + 100));
    const after = parseExposition(await workerMetricsExposition(redis, 't'));
    expect(valueOf(after, 'lantern_worker_process_resident_memory_bytes') / memoryOfOne).toBeCloseTo(1, 1);
    expect(await redis.zrange('t:metrics:workers', '0', '-1')).toEqual(['b']);
  });

  it('when no worker has published, then there is nothing to add', async () => {
    expect(await workerMetricsExposition(redis, 'nobody')).toBe('');
  });
});
