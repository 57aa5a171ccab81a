import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { redisConnection } from '../queue/connection.ts';
import { bullmqPriority, READ_ASSIST_QUEUE } from '../queue/jobs.ts';
import { degradationStepStore, measureQueue, type LevelBand } from '../queue/latency.ts';
import { startPrivateRedis, type PrivateRedis } from '../queue/redis-server.ts';
import type { DegradationChange } from '../store/degradation.ts';
import { createDegradationController } from './degradation-controller.ts';

/** The shipped card's levels, targets in seconds here so that ages of seconds are pressure. */
const bands: LevelBand[] = [
  { level: 'IV', priority: [0, 25], targetMs: 60_000 },
  { level: 'III', priority: [25, 55], targetMs: 15_000 },
  { level: 'II', priority: [55, 85], targetMs: 5_000 },
  { level: 'I', priority: [85, 100], targetMs: 2_000 },
];
const SEC = 1000;

describe('the degradation controller on a real Redis', () => {
  let server: PrivateRedis;
  let redis: Redis;
  let queue: Queue;
  let prefix: string;
  let n = 0;

  beforeAll(async () => {
    server = await startPrivateRedis(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-degradation-')), 'redis'));
    redis = redisConnection(server.url);
  });
  beforeEach(async () => {
    prefix = `deg${++n}`;
    queue = new Queue(READ_ASSIST_QUEUE, { connection: redis, prefix });
  });
  afterAll(async () => {
    await queue?.close();
    await redis.quit();
    await server.stop();
  });

  /** A waiting job of triage priority `priority`, added `ageMs` ago. */
  const waiting = (priority: number, ageMs: number, now: number) =>
    queue.add('read-assist', { n: Math.random() }, { priority: bullmqPriority(priority), timestamp: now - ageMs });

  it('when jobs of levels II and IV wait, then each level\'s count and oldest age are measured, and a boundary priority (25) counts with the more urgent level', async () => {
    const now = Date.now();
    await waiting(10, 30 * SEC, now);
    await waiting(10, 40 * SEC, now);
    await waiting(70, 2 * SEC, now);
    await waiting(25, 1 * SEC, now);
    const measure = await measureQueue(queue, redis, bands, now);
    const by = Object.fromEntries(measure.levels.map((l) => [l.level, l]));
    expect(by.IV).toMatchObject({ waiting: 2, delayed: 0, oldestWaitingMs: 40 * SEC });
    expect(by.II).toMatchObject({ waiting: 1, oldestWaitingMs: 2 * SEC });
    expect(by.III).toMatchObject({ waiting: 1, oldestWaitingMs: 1 * SEC });
    expect(by.I).toMatchObject({ waiting: 0, oldestWaitingMs: null });
    expect(measure.workers).toBe(0);
  });

  it('when the pressure rises and falls, then the step goes up and down one at a time, each change in Redis and audited once; a second controller racing it audits nothing twice', async () => {
    const audits: DegradationChange[] = [];
    const make = () => createDegradationController({
      queue, redis, steps: degradationStepStore(redis, prefix), bands, record: async (c) => { audits.push(c); }, intervalMs: 1000,
      thresholds: { enter: [0, 0.25, 0.5, 0.5], leave: [0, 0.1, 0.25, 0.2], minHoldMs: 0 },
    });
    const [one, two] = [make(), make()];
    const now = Date.now();
    // Level II's oldest at 0.6 of its 5 s target: steps 1, 2, 3 in three decisions.
    const late = await waiting(70, 3 * SEC, now);
    for (let i = 0; i < 3; i++) await Promise.all([one.tick(now + i), two.tick(now + i)]);
    expect((await degradationStepStore(redis, prefix).read()).step).toBe(3);
    await late.remove();
    for (let i = 3; i < 7; i++) await one.tick(now + i);
    expect(audits.map((a) => `${a.from}->${a.to}`)).toEqual([
      'normal->shed-shadow', 'shed-shadow->skip-low-level-heatmaps', 'skip-low-level-heatmaps->defer-level-iv',
      'defer-level-iv->skip-low-level-heatmaps', 'skip-low-level-heatmaps->shed-shadow', 'shed-shadow->normal',
    ]);
    expect(audits.map((a) => a.change)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(audits[0].breaching).toEqual([]);
    expect(one.snapshot()).toMatchObject({ decision: { step: 0 }, shared: { step: 0, change: 6 } });
  });
});
