/**
 * What `lantern start` prints when it is ready: where to go and what runs — never a secret.
 * The private redis-server's real URL (its password made by startPrivateRedis in a temp
 * folder) goes in, and the banner names the password's file instead of the password.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { privatePassword } from '../queue/redis-server.ts';
import { printableUrl, startBanner } from './banner.ts';

describe('the start banner', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-banner-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('when lantern start runs a private redis-server, then the banner gives its address and its password file, not its password', () => {
    const password = privatePassword(dir);
    const passwordFile = path.join(dir, 'lantern-redis.conf');
    const banner = startBanner({
      apiUrl: 'http://127.0.0.1:8080',
      privateRedis: { url: `redis://:${password}@127.0.0.1:6390`, passwordFile, dir },
      privateDatabaseDir: path.join(dir, 'pglite'),
      workers: 2,
      failedWorkers: 0,
      firstAdminPasswordFile: path.join(dir, 'initial-admin-password'),
    });
    expect(banner).not.toContain(password);
    expect(banner).toContain(`redis redis://127.0.0.1:6390 (private; password in ${passwordFile};`);
    expect(banner).toContain('open http://127.0.0.1:8080');
    expect(banner).toContain(`sign in as admin with the password in ${path.join(dir, 'initial-admin-password')}`);
  });

  it('when a URL carries a user and password (the private PGlite server\'s), then only the user is printed', () => {
    expect(printableUrl('postgres://postgres:0123abcd@127.0.0.1:5433/postgres')).toBe('postgres://postgres@127.0.0.1:5433/postgres');
    expect(printableUrl('redis://queue-host:6379')).toBe('redis://queue-host:6379');
  });
});
