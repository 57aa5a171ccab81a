/**
 * The private PGlite server asks for the password in its URL before PGlite sees a client
 * (store/pglite-auth.ts): a local process without it reads nothing, and the password file
 * is the owner's alone and survives a restart.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servePglite, type PgliteServer } from './pglite-server.ts';

describe('the private PGlite server requires its password', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-pglite-auth-'));
  let server: PgliteServer;

  const withUrl = async <T>(url: string, work: (client: pg.Client) => Promise<T>) => {
    // The server takes one client at a time; a departed one's socket may still be closing.
    for (let attempt = 0; ; attempt++) {
      const client = new pg.Client({ connectionString: url });
      try {
        await client.connect();
      } catch (error) {
        await client.end().catch(() => undefined);
        if (/password/.test((error as Error).message) || attempt >= 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      try {
        return await work(client);
      } finally {
        await client.end();
      }
    }
  };
  const without = (password: string | null) => {
    const url = new URL(server.url);
    url.password = password ?? '';
    return url.toString();
  };

  beforeAll(async () => {
    server = await servePglite(path.join(dir, 'pglite'));
    await withUrl(server.url, (c) => c.query('create table secrets (body text); insert into secrets values (\'chart\')'));
  });
  afterAll(async () => {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when a client has no password or a wrong one, then it is refused before any query', async () => {
    await expect(withUrl(without(null), (c) => c.query('select * from secrets'))).rejects.toThrow(/password/);
    await expect(withUrl(without('0'.repeat(64)), (c) => c.query('select * from secrets'))).rejects.toThrow(/password authentication failed/);
  });

  it('when a client has the URL\'s password, then it is served, and the next client too', async () => {
    expect(new URL(server.url).password).toMatch(/^[0-9a-f]{64}$/);
    expect(await withUrl(server.url, async (c) => (await c.query('select body from secrets')).rows)).toEqual([{ body: 'chart' }]);
    expect(await withUrl(server.url, async (c) => (await c.query('select 1 as one')).rows)).toEqual([{ one: 1 }]);
  });

  it('when the server restarts on the same folder, then the password is the same and its file is 0600', async () => {
    const before = new URL(server.url).password;
    await server.stop();
    server = await servePglite(path.join(dir, 'pglite'));
    expect(new URL(server.url).password).toBe(before);
    expect(fs.statSync(path.join(dir, 'pglite', 'lantern-password')).mode & 0o777).toBe(0o600);
    expect(await withUrl(server.url, async (c) => (await c.query('select count(*)::int as n from secrets')).rows)).toEqual([{ n: 1 }]);
  });
});
