import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Readiness } from '../../contract/latency.ts';
import { createDegradationController } from '../../pipeline/degradation-controller.ts';
import { redisConnection } from '../../queue/connection.ts';
import { bullmqPriority, READ_ASSIST_QUEUE } from '../../queue/jobs.ts';
import { degradationStepStore, type LevelBand } from '../../queue/latency.ts';
import { startPrivateRedis, type PrivateRedis } from '../../queue/redis-server.ts';
import type { ApiDeps } from '../deps.ts';
import { readyRoutes, STALE_AFTER_MS } from './ready.ts';

const bands: LevelBand[] = [
  { level: 'IV', priority: [0, 25], targetMs: 60 * 60_000 },
  { level: 'III', priority: [25, 55], targetMs: 15 * 60_000 },
  { level: 'II', priority: [55, 85], targetMs: 5 * 60_000 },
  { level: 'I', priority: [85, 100], targetMs: 2 * 60_000 },
];

describe('GET /ready', () => {
  let server: PrivateRedis;
  let redis: Redis;
  let queue: Queue;
  let worker: Worker | undefined;
  const prefix = 'ready';
  const audits: unknown[] = [];
  const controller = () => createDegradationController({
    queue, redis, steps: degradationStepStore(redis, prefix), bands, record: async (c) => { audits.push(c); }, intervalMs: 1000,
  });
  const ready = async (latency?: ApiDeps['latency']) => {
    const response = await readyRoutes({ latency } as ApiDeps).request('/ready');
    return { status: response.status, body: await response.json() as Readiness };
  };

  beforeAll(async () => {
    server = await startPrivateRedis(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-ready-')), 'redis'));
    redis = redisConnection(server.url);
    queue = new Queue(READ_ASSIST_QUEUE, { connection: redis, prefix });
  });
  afterAll(async () => {
    await worker?.close();
    await queue.close();
    await redis.quit();
    await server.stop();
  });

  it('when nothing has been measured yet, then 503 not-ready and says so', async () => {
    expect(await ready(controller())).toMatchObject({ status: 503, body: { status: 'not-ready', reasons: ['the AI queue has not been measured yet'], measuredAt: null } });
  });

  it('when no worker is connected, then 503 naming it, and an admin notice in both languages', async () => {
    const c = controller();
    await c.tick();
    const { status, body } = await ready(c);
    expect(status).toBe(503);
    expect(body.reasons).toEqual(['no read-assist worker is connected']);
    expect(body.workers.alive).toBe(0);
    expect(body.notice).toEqual({ text: 'no AI worker running', textZh: '无AI工作进程运行' });
  });

  it('when a worker is connected and nothing waits, then 200 ready: every level listed with its target, none breaching, step normal', async () => {
    worker = new Worker(READ_ASSIST_QUEUE, async () => undefined, { connection: redisConnection(server.url), prefix });
    await worker.waitUntilReady();
    const c = controller();
    await c.tick();
    const { status, body } = await ready(c);
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'ready', reasons: [], notice: null, degradation: { step: 0, name: 'normal' } });
    expect(body.workers.alive).toBeGreaterThanOrEqual(1);
    expect(body.levels.map((l) => [l.level, l.targetMinutes, l.breaching])).toEqual([['IV', 60, false], ['III', 15, false], ['II', 5, false], ['I', 2, false]]);
  });

  it('when a level II job has waited past its 5 min target, then 503 naming level II as breaching, and the notice says the ladder has stepped in', async () => {
    await worker!.pause();
    await queue.add('read-assist', {}, { priority: bullmqPriority(70), timestamp: Date.now() - 6 * 60_000 });
    const c = controller();
    await c.tick();
    const { status, body } = await ready(c);
    expect(status).toBe(503);
    expect(body.reasons).toEqual([expect.stringMatching(/^level II: oldest waiting 36\d(\.\d)? s, past its 5 min target$/)]);
    expect(body.levels.find((l) => l.level === 'II')).toMatchObject({ waiting: 1, breaching: true });
    expect(body.degradation).toMatchObject({ step: 1, name: 'shed-shadow' });
    expect(body.notice!.text).toBe('AI degraded: shadow-model work is deferred; level II AI results past target');
    expect(body.notice!.textZh).toBe('AI降级运行：影子模型任务已推迟；II级AI结果超时');
    expect(audits).toHaveLength(1);
  });

  it('when the last measurement is stale, then 503: an old answer is not evidence', async () => {
    const c = controller();
    const snapshot = await c.tick(Date.now() - STALE_AFTER_MS - 5000);
    const { status, body } = await ready({ snapshot: () => snapshot });
    expect(status).toBe(503);
    expect(body.reasons.at(-1)).toMatch(/^the AI queue was last measured \d+ s ago$/);
  });
});
