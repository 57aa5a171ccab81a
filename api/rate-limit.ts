/**
 * A token bucket per key (a client's IP, later its user): `capacity` tokens, refilled at
 * `capacity` per minute, one taken per request. In memory and per process: it protects
 * this process's CPU and database session, which is what an expensive request costs.
 */
export interface TokenBuckets {
  /** Takes a token for `key`; when none is left, how many seconds until one is. */
  take(key: string): { allowed: true } | { allowed: false; retryAfterSeconds: number };
}

/** Buckets idle this long are full again and are forgotten, so the map stays as small as the active clients. */
const FORGET_AFTER_MS = 10 * 60_000;

export function tokenBuckets(perMinute: number, now: () => number = Date.now): TokenBuckets {
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
