/**
 * The deployment defences every request passes (api/security.ts), probed as a browser on
 * another site and a DNS-rebinding page would probe them, against a small hono app that
 * uses the same middleware as createApp.
 */
import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { tokenBuckets } from './rate-limit.ts';
import { security, type SecurityOptions } from './security.ts';

function appWith(options: Partial<SecurityOptions> = {}) {
  const app = new Hono();
  app.use('*', ...security(options));
  let writes = 0;
  app.post('/v1/findings/:id/review', (c) => { writes += 1; return c.json({ ok: true }); });
  app.post('/v1/triage', (c) => c.json({ ok: true }));
  app.get('/v1/worklist', (c) => c.json({ items: [] }));
  return { app, writes: () => writes };
}

const at = (host: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
  ({ ...init, headers: { host, ...init.headers } });

describe('security headers', () => {
  it('when any answer leaves, then it carries a CSP without inline script, no framing, nosniff and no referrer', async () => {
    const { app } = appWith();
    for (const response of [await app.request('/v1/worklist', at('127.0.0.1:8080')), await app.request('/nothing', at('127.0.0.1:8080'))]) {
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('unsafe-eval');
      expect(csp).toContain("frame-ancestors 'none'");
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('strict-transport-security')).toBeNull();
    }
  });

  it('when TLS is on, then HSTS is sent', async () => {
    const { app } = appWith({ tls: true });
    expect((await app.request('/v1/worklist', at('localhost'))).headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
  });

  it('when a request is refused, then the refusal carries the headers too', async () => {
    const { app } = appWith();
    const response = await app.request('/v1/worklist', at('evil.example'));
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });
});

describe('Host check (DNS rebinding)', () => {
  it.each(['evil.example', 'evil.example:8080', 'localhost.evil.example', '127.0.0.1.nip.io'])(
    'when the Host is %s, then the answer is 421 and no data', async (host) => {
      const { app } = appWith();
      const response = await app.request('/v1/worklist', at(host));
      expect(response.status).toBe(421);
      expect(await response.json()).toMatchObject({ error: { code: 'HOST_NOT_ALLOWED' } });
    });

  it.each(['127.0.0.1:8080', 'localhost:8080', 'LOCALHOST', '[::1]:8080', '10.1.2.3', 'lantern.clinic.example', 'Lantern.Clinic.Example:443'])(
    'when the Host is %s, then it is served', async (host) => {
      const { app } = appWith({ allowedHosts: ['lantern.clinic.example'] });
      expect((await app.request('/v1/worklist', at(host))).status).toBe(200);
    });
});

describe('Origin check (cross-site request forgery)', () => {
  const review = (headers: Record<string, string>) => at('127.0.0.1:8080', {
    method: 'POST', headers: { 'content-type': 'text/plain', ...headers }, body: JSON.stringify({ decision: 'override', reasonCode: 'artefact' }),
  });

  it('when a page on another origin posts a text/plain JSON review, then it is refused with 403 and nothing is written', async () => {
    const { app, writes } = appWith();
    const response = await app.request('/v1/findings/f1/review', review({ origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }));
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: { code: 'CROSS_ORIGIN_REQUEST' } });
    expect(writes()).toBe(0);
  });

  it.each([
    ['another port of this host', { origin: 'http://127.0.0.1:9999' }],
    ['an opaque origin', { origin: 'null' }],
    ['no Origin but a foreign Referer', { referer: 'https://evil.example/page' }],
    ['no Origin or Referer but a cross-site fetch', { 'sec-fetch-site': 'cross-site' }],
  ])('when the request comes from %s, then it is refused', async (_what, headers) => {
    const { app, writes } = appWith();
    expect((await app.request('/v1/findings/f1/review', review(headers))).status).toBe(403);
    expect(writes()).toBe(0);
  });

  it.each([
    ['this server\'s own page', { origin: 'http://127.0.0.1:8080' }],
    ['this server\'s page by Referer', { referer: 'http://127.0.0.1:8080/#/study/1' }],
    ['a client that is not a browser page (no Origin, no Referer)', {}],
    ['a configured origin', { origin: 'https://portal.clinic.example' }],
  ])('when the request comes from %s, then it is served', async (_what, headers) => {
    const { app, writes } = appWith({ allowedOrigins: ['https://portal.clinic.example'] });
    expect((await app.request('/v1/findings/f1/review', review(headers))).status).toBe(200);
    expect(writes()).toBe(1);
  });

  it('when a foreign page only reads (GET), then the Origin check leaves it to CORS, which grants nothing', async () => {
    const { app } = appWith();
    const response = await app.request('/v1/worklist', at('127.0.0.1:8080', { headers: { origin: 'https://evil.example' } }));
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('rate limits', () => {
  it('when one client exceeds the expensive routes\' budget, then it gets 429 with Retry-After, and cheap routes still answer', async () => {
    const { app } = appWith({ rateLimitPerMinute: 5 });
    const triage = () => app.request('/v1/triage', at('localhost', { method: 'POST', body: '{}' }));
    for (let i = 0; i < 5; i++) expect((await triage()).status).toBe(200);
    const refused = await triage();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await refused.json()).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    expect((await app.request('/v1/worklist', at('localhost'))).status).toBe(200);
  });

  it('when one client keeps trying to sign in, then the 11th attempt in a minute gets 429 (password guessing)', async () => {
    const app = new Hono();
    app.use('*', ...security());
    app.post('/v1/session', (c) => c.json({ error: { code: 'BAD_CREDENTIALS', message: 'no' } }, 401));
    const signIn = () => app.request('/v1/session', at('localhost', { method: 'POST', body: '{}' }));
    for (let i = 0; i < 10; i++) expect((await signIn()).status).toBe(401);
    const refused = await signIn();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('when one client keeps arriving at the identity provider\'s callback, then each arrival counts as a sign-in attempt (each would make Lantern call the provider)', async () => {
    const app = new Hono();
    app.use('*', ...security({ loginRateLimitPerMinute: 3 }));
    app.get('/v1/session/oidc/callback', (c) => c.json({ error: { code: 'OIDC_CODE_REJECTED', message: 'no' } }, 401));
    const arrive = () => app.request('/v1/session/oidc/callback?code=stolen&state=guessed', at('localhost'));
    for (let i = 0; i < 3; i++) expect((await arrive()).status).toBe(401);
    expect((await arrive()).status).toBe(429);
  });

  it('when API clients behind one address send their own bearer tokens, then each has its own budget', async () => {
    const { app } = appWith({ rateLimitPerMinute: 2 });
    const triage = (token?: string) => app.request('/v1/triage', at('localhost', { method: 'POST', body: '{}', headers: token ? { authorization: `Bearer ${token}` } : {} }));
    for (const token of ['alice', 'alice', undefined, undefined]) expect((await triage(token)).status).toBe(200);
    expect((await triage('alice')).status).toBe(429);
    expect((await triage()).status).toBe(429);
    expect((await triage('bob')).status).toBe(200);
  });

  it.each([
    ['POST', '/dicomweb/studies'], ['POST', '/dicomweb/studies/1.2.3'], ['GET', '/dicomweb/studies/1.2.3/series/4/instances/5/rendered'],
    ['GET', '/dicomweb/studies/1.2.3/series/4/instances/5/frames/1/rendered'],
  ])('when one client sends %s %s past the budget, then 429: storing and rendering are expensive too', async (method, path) => {
    const app = new Hono();
    app.use('*', ...security({ rateLimitPerMinute: 2 }));
    app.all('*', (c) => c.json({ ok: true }));
    const call = () => app.request(path, at('localhost', { method }));
    for (let i = 0; i < 2; i++) expect((await call()).status).toBe(200);
    expect((await call()).status).toBe(429);
    expect((await app.request('/dicomweb/studies/1.2.3/metadata', at('localhost'))).status).toBe(200);
  });

  it('when the limit is 0, then nothing is limited', async () => {
    const { app } = appWith({ rateLimitPerMinute: 0 });
    for (let i = 0; i < 50; i++) expect((await app.request('/v1/triage', at('localhost', { method: 'POST', body: '{}' }))).status).toBe(200);
  });

  it('when time passes, then a bucket refills at its rate, and clients have their own buckets', () => {
    let now = 0;
    const buckets = tokenBuckets(60, () => now);
    for (let i = 0; i < 60; i++) expect(buckets.take('a').allowed).toBe(true);
    expect(buckets.take('a')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(buckets.take('b').allowed).toBe(true);
    now += 1000;
    expect(buckets.take('a').allowed).toBe(true);
    expect(buckets.take('a').allowed).toBe(false);
  });
});

/**
 * Sign-in limits across API processes (the scale path: several `lantern api` behind a load
 * balancer), against the real Redis on 127.0.0.1:6379 under a key prefix of this run's own.
 */
describe('sign-in limits shared through Redis', () => {
  const keyPrefix = `lantern-test-${randomUUID()}`;
  const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  afterAll(async () => {
    const keys = await redis.keys(`${keyPrefix}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  /** One API process's front door, sharing sign-in counts through `shared` (a connection of its own, as each process has). */
  function apiProcess(shared: Redis) {
    const app = new Hono();
    app.use('*', ...security({ loginRateLimitPerMinute: 10, sharedLogin: { redis: shared, keyPrefix } }));
    app.post('/v1/session', (c) => c.json({ error: { code: 'BAD_CREDENTIALS', message: 'no' } }, 401));
    return () => app.request('/v1/session', at('localhost', { method: 'POST', body: '{}' }));
  }

  it('when a guesser spreads sign-in attempts over three API processes, then the 11th attempt in a minute gets 429 whichever process it reaches', async () => {
    const connections = [redis.duplicate(), redis.duplicate(), redis.duplicate()];
    try {
      await Promise.all(connections.map((c) => new Promise((resolve) => (c.status === 'ready' ? resolve(undefined) : c.once('ready', resolve)))));
      const processes = connections.map((connection) => apiProcess(connection));
      for (let i = 0; i < 10; i++) expect((await processes[i % 3]()).status).toBe(401);
      for (const signIn of processes) {
        const refused = await signIn();
        expect(refused.status).toBe(429);
        expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      }
      expect(await redis.keys(`${keyPrefix}:*`)).toHaveLength(1);
    } finally {
      await Promise.all(connections.map((c) => c.quit()));
    }
  });

  it('when Redis cannot be reached, then sign-in answers at once, still limited by the process\'s own count', async () => {
    const unreachable = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: null, lazyConnect: true });
    try {
      const signIn = apiProcess(unreachable);
      const started = performance.now();
      for (let i = 0; i < 10; i++) expect((await signIn()).status).toBe(401);
      expect((await signIn()).status).toBe(429);
      expect(performance.now() - started).toBeLessThan(1000);
    } finally {
      unreachable.disconnect();
    }
  });
});
