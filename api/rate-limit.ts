import type { Redis } from 'ioredis';

/**
 * A token bucket per key (a client's IP, later its user): `capacity` tokens, refilled at
 * `capacity` per minute, one taken per request. In memory and per process: it protects
 * this process's CPU and database session, which is what an expensive request costs.
 * Sign-in is different: a password guesser is limited by what the whole deployment lets
 * through, so with several API processes its buckets are shared in Redis (`redisTokenBuckets`).
 */
export interface TokenBuckets {
  /** Takes a token for `key`; when none is left, how many seconds until one is. */
  take(key: string): Verdict | Promise<Verdict>;
}

export type Verdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Buckets idle this long are full again and are forgotten, so the map stays as small as the active clients. */
const FORGET_AFTER_MS = 10 * 60_000;

export function tokenBuckets(perMinute: number, now: () => number = Date.now): { take(key: string): Verdict } {
  const refillPerMs = perMinute / 60_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  let sweptAt = now();
  return {
    take(key) {
      const t = now();
      if (t - sweptAt > FORGET_AFTER_MS) {
        for (const [k, b] of buckets) if (t - b.at > FORGET_AFTER_MS) buckets.delete(k);
        sweptAt = t;
      }
      const bucket = buckets.get(key) ?? { tokens: perMinute, at: t };
      bucket.tokens = Math.min(perMinute, bucket.tokens + (t - bucket.at) * refillPerMs);
      bucket.at = t;
      buckets.set(key, bucket);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return { allowed: true };
      }
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / refillPerMs / 1000)) };
    },
  };
}

/**
 * Takes one token, atomically, from a bucket shared by every API process.
 * KEYS[1]: the bucket, a hash { tokens, at } (`at` in ms of Redis's own clock, so the
 *   processes' clocks need not agree); it expires after a minute unused, when it would be full.
 * ARGV[1]: capacity, which is also the refill per minute.
 * Returns 0 when a token was taken, else the whole seconds (at least 1) until one will be.
 */
const TAKE_SCRIPT = `
local capacity = tonumber(ARGV[1])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local perMs = capacity / 60000
local tokens = math.min(capacity, (tonumber(bucket[1]) or capacity) + math.max(0, now - (tonumber(bucket[2]) or now)) * perMs)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.max(1, math.ceil((1 - tokens) / perMs / 1000)) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], 60000)
return wait
`;

/** How long a request waits for Redis's verdict before this process's own buckets decide. */
export const SHARED_BUCKET_WAIT_MS = 200;

/**
 * Token buckets kept in Redis under `keyPrefix`, shared by every API process that uses the same
 * Redis: N processes behind a load balancer must not let a guesser try N times the limit.
 * While Redis is down or slower than `waitMs`, `fallback` (this process's memory buckets, which
 * count every attempt either way) decides, so sign-in stays limited and never waits on Redis.
 */
export function redisTokenBuckets(redis: Redis, keyPrefix: string, perMinute: number, fallback: TokenBuckets = tokenBuckets(perMinute), waitMs = SHARED_BUCKET_WAIT_MS): TokenBuckets {
  return {
    async take(key) {
      const local = await fallback.take(key);
      if (redis.status !== 'ready') return local;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<undefined>((resolve) => { timer = setTimeout(resolve, waitMs, undefined); });
      const shared = redis.eval(TAKE_SCRIPT, 1, `${keyPrefix}:${key}`, perMinute).then((wait) => Number(wait), () => undefined);
      try {
        const wait = await Promise.race([shared, late]);
        if (wait === undefined) return local;
        return wait === 0 ? { allowed: true } : { allowed: false, retryAfterSeconds: wait };
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
