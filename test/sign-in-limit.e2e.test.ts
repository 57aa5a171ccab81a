/**
 * The scale path's sign-in limit: two `lantern api` processes (as behind a load balancer)
 * with one Redis (REDIS_URL) share one count of sign-in attempts per client, so a password
 * guesser who spreads attempts over both gets LANTERN_LOGIN_RATE_LIMIT in all, not twice it.
 * Real processes, a real redis-server, each API with its own embedded database.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateRedis, type PrivateRedis } from '../queue/redis-server.ts';
import { spawnLantern, waitFor } from './support/stack.ts';

describe('sign-in attempts across API processes', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-sign-in-limit-'));
  let redis: PrivateRedis;
  const apis: { process: ChildProcess; url: string }[] = [];

  /** `lantern api` on a free port with its own data folder; resolves with its URL once it listens. */
  async function startApi(name: string): Promise<{ process: ChildProcess; url: string }> {
    const { DATABASE_URL: _ambient, ...inherited } = process.env;
    const child = spawnLantern('api', { ...inherited, PORT: '0', REDIS_URL: redis.url, LANTERN_DATA_DIR: path.join(dir, name), LOG_LEVEL: 'info' });
    let output = '';
    child.stdout!.on('data', (chunk) => { output += chunk; });
    child.stderr!.on('data', (chunk) => { output += chunk; });
    const url = await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`lantern api exited with ${child.exitCode}:\n${output}`);
      return /"url":"(http:\/\/[^"]+)".*"msg":"api listening"/.exec(output)?.[1];
    }, `lantern api ${name} to listen`, 90_000);
    return { process: child, url };
  }

  beforeAll(async () => {
    redis = await startPrivateRedis(path.join(dir, 'redis'));
    apis.push(...await Promise.all([startApi('a'), startApi('b')]));
  }, 120_000);
  afterAll(async () => {
    await Promise.all(apis.map(({ process: child }) => new Promise((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGTERM');
    })));
    await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when a guesser alternates between two API processes, then the 11th sign-in attempt in a minute gets 429 from either', async () => {
    const signIn = (url: string) => fetch(new URL('/v1/session', url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'guess' }) });
    for (let i = 0; i < 10; i++) expect((await signIn(apis[i % 2].url)).status).toBe(401);
    for (const { url } of apis) {
      const refused = await signIn(url);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
  }, 60_000);
});
