import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { AggregatorRegistry, collectDefaultMetrics, Registry } from 'prom-client';

/** How often a worker process publishes its snapshot, and how long one counts before it lapses (a stopped or dead worker drops out). */
export const WORKER_SNAPSHOT_INTERVAL_MS = 5_000;
export const WORKER_SNAPSHOT_TTL_MS = 3 * WORKER_SNAPSHOT_INTERVAL_MS;
/** At most this many workers' snapshots are read per scrape: a scrape stays bounded however many processes share the Redis. */
export const WORKER_SNAPSHOT_BOUND = 256;

/**
 * Redis layout: a sorted set of worker ids scored by when their snapshot lapses, and one key
 * per worker holding its registry as JSON (prom-client `getMetricsAsJSON`), expiring at the
 * same time. The set lets a scrape find the live workers without scanning the keyspace.
 */
const workersKey = (prefix: string) => `${prefix}:metrics:workers`;
const snapshotKey = (prefix: string, workerId: string) => `${prefix}:metrics:worker:${workerId}`;

/**
 * A worker process's own metrics — memory, CPU, event loop, garbage collection (prom-client's
 * default metrics, prefixed `lantern_worker_`) — published to Redis every
 * `WORKER_SNAPSHOT_INTERVAL_MS` for the API's `/metrics`, which has no other way to reach a
 * process without an HTTP port. What the models did is not here: it is counted from the
 * results the workers hand back (pipeline/model-metrics.ts).
 */
export function publishWorkerMetrics(options: { redis: Redis; prefix: string; workerId?: string; intervalMs?: number; ttlMs?: number; onError?: (error: Error) => void }) {
  const { redis, prefix } = options;
  const workerId = options.workerId ?? `${hostname()}-${process.pid}`;
  const ttlMs = options.ttlMs ?? WORKER_SNAPSHOT_TTL_MS;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'lantern_worker_' });
  const publish = async () => {
    const snapshot = JSON.stringify(await registry.getMetricsAsJSON());
    await redis.multi().set(snapshotKey(prefix, workerId), snapshot, 'PX', ttlMs).zadd(workersKey(prefix), Date.now() + ttlMs, workerId).exec();
  };
  const publishNow = () => void publish().catch((error: Error) => options.onError?.(error));
  const timer = setInterval(publishNow, options.intervalMs ?? WORKER_SNAPSHOT_INTERVAL_MS);
  timer.unref();
  publishNow();
  return {
    workerId,
    publish,
    /** Stops publishing; the last snapshot lapses with its TTL. */
    stop: () => clearInterval(timer),
  };
}

/** The live workers' snapshots summed (memory, CPU) or averaged (event-loop lag) as prom-client's aggregator says per metric; empty when none is live. */
export async function workerMetricsExposition(redis: Redis, prefix: string): Promise<string> {
  await redis.zremrangebyscore(workersKey(prefix), '-inf', String(Date.now()));
  const ids = await redis.zrange(workersKey(prefix), '0', String(WORKER_SNAPSHOT_BOUND - 1));
  const snapshots = ids.length ? (await redis.mget(ids.map((id) => snapshotKey(prefix, id)))).filter((s): s is string => s !== null) : [];
  if (snapshots.length === 0) return '';
  return AggregatorRegistry.aggregate(snapshots.map((s) => JSON.parse(s) as object)).metrics();
}
