import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Hono } from 'hono';
import { eventLoopLag, eventLoopQuery, health, liveness } from '../../contract/system.ts';
import type { ApiDeps } from '../deps.ts';
import { mount } from '../route.ts';

/** monitorEventLoopDelay samples with a timer of this period and records the whole interval, not only the delay. */
const RESOLUTION_MS = 10;
const lagMs = (ns: number) => Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 100) / 100);
/** How long `/health` waits for Redis or the database before it names them down. */
export const PING_TIMEOUT_MS = 500;

/**
 * Runs `ping` with a deadline and answers 'ok' or `error: …`, never hangs. A ping still in
 * flight is shared with the next caller rather than repeated, so a dead dependency that
 * swallows commands (ioredis queues them while it reconnects) is not sent one per request;
 * and so is its deadline, which runs from when the ping was sent: a stalled Redis makes the
 * first caller wait it out, and the callers after it are told at once.
 */
function boundedProbe(ping: () => Promise<unknown>, timeoutMs: number): () => Promise<string> {
  let inFlight: { answer: Promise<string>; deadline: number } | undefined;
  return () => {
    if (!inFlight) {
      const probe = { answer: ping().then(() => 'ok', (e: Error) => `error: ${e.message}`), deadline: Date.now() + timeoutMs };
      void probe.answer.finally(() => { if (inFlight === probe) inFlight = undefined; });
      inFlight = probe;
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<string>((resolve) => { timer = setTimeout(resolve, Math.max(0, inFlight!.deadline - Date.now()), `error: no answer within ${timeoutMs} ms`); });
    return Promise.race([inFlight.answer, late]).finally(() => clearTimeout(timer));
  };
}

export function healthRoutes(deps: ApiDeps) {
  const app = new Hono();
  // The API's promise is responsiveness while workers are saturated; this is how it is checked.
  const loopDelay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  loopDelay.enable();
  let since = new Date().toISOString();
  // A connection that is not ready would queue the ping until it is: say so at once instead.
  const pingRedis = boundedProbe(() => (deps.redis.status === 'ready' ? deps.redis.ping() : Promise.reject(new Error(`not connected (${deps.redis.status})`))), PING_TIMEOUT_MS);
  const pingDatabase = boundedProbe(() => deps.store.db.query('select 1'), PING_TIMEOUT_MS);

  mount(app, {
    method: 'get', path: '/health', operationId: 'getHealth', access: 'public', tag: 'system',
    summary: `Readiness: Redis and the database answer within ${PING_TIMEOUT_MS} ms; the models loaded`,
    responses: { 200: { description: 'Ready.', json: health }, 503: { description: 'Degraded: what failed is named.', json: health } },
  }, async (c) => {
    const [redis, database] = await Promise.all([pingRedis(), pingDatabase()]);
    // Optional call: a stand-in store (a route test's) has no audit to report on.
    const audit = deps.store.auditStatus?.();
    const ok = redis === 'ok' && database === 'ok' && audit?.state !== 'degraded';
    return c.json({
      status: ok ? 'ok' : 'degraded',
      redis,
      database,
      ...(audit ? { audit } : {}),
      models: deps.registry.models.map((m) => ({ id: m.card.id, version: m.card.version, task: m.card.task, weightsSha256: m.sha256 })),
    }, ok ? 200 : 503);
  });
  /** Liveness: no I/O at all, so it is also the floor any other route is measured against. */
  const live = { 200: { description: 'Alive.', json: liveness } };
  mount(app, { method: 'get', path: '/health/live', operationId: 'getLiveness', access: 'public', tag: 'system', summary: 'Liveness (no I/O)', responses: live },
    (c) => c.json({ status: 'ok' }));
  /** The same for a POST: reads and parses a JSON body, then answers: the HTTP floor of any JSON API call. */
  mount(app, {
    method: 'post', path: '/health/live', operationId: 'postLiveness', access: 'public', tag: 'system', summary: 'Liveness after reading a JSON body (the floor of any JSON call)',
    rawBody: { description: 'Any JSON; it is read and discarded.', mediaTypes: ['application/json'] },
    responses: live,
  }, async (c) => {
    await c.req.json().catch(() => undefined);
    return c.json({ status: 'ok' });
  });
  /** How late this API process's event loop ran timers since `since` (its lag); `?reset=true` starts a new window. */
  mount(app, {
    method: 'get', path: '/health/event-loop', operationId: 'getEventLoopLag', access: 'public', tag: 'system',
    summary: 'How late this API process ran timers (its event-loop lag) since the window began',
    query: eventLoopQuery,
    responses: { 200: { description: 'Lag percentiles in milliseconds.', json: eventLoopLag } },
  }, (c, { query }) => {
    const body = {
      since,
      samples: loopDelay.count,
      p50Ms: lagMs(loopDelay.percentile(50)),
      p99Ms: lagMs(loopDelay.percentile(99)),
      maxMs: lagMs(loopDelay.max),
    };
    if (query.reset === 'true') {
      loopDelay.reset();
      since = new Date().toISOString();
    }
    return c.json(body);
  });
  return app;
}
