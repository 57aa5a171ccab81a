import { describe, expect, it } from 'vitest';
import type { ApiDeps } from '../deps.ts';
import { healthRoutes, PING_TIMEOUT_MS } from './health.ts';

const never = () => new Promise<never>(() => undefined);

/** Only what `/health` touches: a Redis connection, the database, the loaded models. */
function deps(redis: { status: string; ping: () => Promise<unknown> }, query: () => Promise<unknown>): ApiDeps {
  return { redis, store: { db: { query } }, registry: { models: [] } } as unknown as ApiDeps;
}

async function health(app: ReturnType<typeof healthRoutes>) {
  const started = performance.now();
  const response = await app.request('/health');
  return { status: response.status, body: await response.json() as { status: string; redis: string; database: string }, ms: performance.now() - started };
}

describe('GET /health', () => {
  it('when Redis and the database answer, then 200 ok', async () => {
    const app = healthRoutes(deps({ status: 'ready', ping: async () => 'PONG' }, async () => ({ rows: [] })));
    expect(await health(app)).toMatchObject({ status: 200, body: { status: 'ok', redis: 'ok', database: 'ok' } });
  });

  it('when the Redis connection is down (reconnecting), then 503 degraded at once, without sending a ping it would queue', async () => {
    let pings = 0;
    const app = healthRoutes(deps({ status: 'reconnecting', ping: () => { pings++; return never(); } }, async () => ({ rows: [] })));
    const { status, body, ms } = await health(app);
    expect(status).toBe(503);
    expect(body).toMatchObject({ status: 'degraded', redis: 'error: not connected (reconnecting)', database: 'ok' });
    expect(ms).toBeLessThan(PING_TIMEOUT_MS);
    expect(pings).toBe(0);
  });

  it('when Redis or the database never answers, then 503 degraded after the ping timeout, not a hang; a ping still in flight is not repeated', async () => {
    let pings = 0;
    let queries = 0;
    const app = healthRoutes(deps({ status: 'ready', ping: () => { pings++; return never(); } }, () => { queries++; return never(); }));
    const [first, second] = await Promise.all([health(app), health(app)]);
    for (const { status, body, ms } of [first, second]) {
      expect(status).toBe(503);
      expect(body).toMatchObject({ status: 'degraded', redis: `error: no answer within ${PING_TIMEOUT_MS} ms`, database: `error: no answer within ${PING_TIMEOUT_MS} ms` });
      expect(ms).toBeLessThan(PING_TIMEOUT_MS + 400);
    }
    expect([pings, queries]).toEqual([1, 1]);
  });

  it('when a ping has gone unanswered past the deadline, then the next /health says so at once instead of waiting again', async () => {
    let pings = 0;
    const app = healthRoutes(deps({ status: 'ready', ping: () => { pings++; return never(); } }, async () => ({ rows: [] })));
    expect((await health(app)).ms).toBeGreaterThanOrEqual(PING_TIMEOUT_MS - 5);
    const next = await health(app);
    expect(next).toMatchObject({ status: 503, body: { redis: `error: no answer within ${PING_TIMEOUT_MS} ms`, database: 'ok' } });
    expect(next.ms).toBeLessThan(PING_TIMEOUT_MS / 2);
    expect(pings).toBe(1);
  });
});
