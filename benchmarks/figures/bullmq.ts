import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { startPrivateRedis } from '../../queue/redis-server.ts';
import { progressBar } from '../progress.ts';
import { summarise, type Summary } from '../stats.ts';

/** BullMQ's own floor on this machine: add → completed for a job that does nothing, one at a time, private redis. */
export async function measureBullmqNoop(jobs: number): Promise<{ addToCompleted: Summary; samples: number[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-bench-redis-'));
  const redis = await startPrivateRedis(dir);
  const connection = { url: redis.url };
  const queue = new Queue('noop', { connection });
  const events = new QueueEvents('noop', { connection });
  const worker = new Worker('noop', async () => undefined, { connection, concurrency: 1 });
  const samples: number[] = [];
  const bar = progressBar('BullMQ no-op add → completed', jobs);
  try {
    await Promise.all([events.waitUntilReady(), worker.waitUntilReady()]);
    for (let i = 0; i < jobs + 20; i++) {
      const start = performance.now();
      // The last 100 are kept: a job removed the moment it completes can vanish before
      // waitUntilFinished looks at it ("Missing key for job"), failing the run.
      const job = await queue.add('noop', { i }, { removeOnComplete: { count: 100 } });
      await job.waitUntilFinished(events);
      if (i >= 20) samples.push(performance.now() - start);
      if (i % 50 === 0) bar.tick(Math.max(0, i - 20));
    }
  } finally {
    bar.done();
    await worker.close();
    await events.close();
    await queue.close();
    await redis.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { addToCompleted: summarise(samples), samples };
}
