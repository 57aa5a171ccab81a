/**
 * The embedded database forces each commit to the disk before it answers. A power cut cannot be
 * staged here, so the test watches what would survive one: the fsync calls PostgreSQL makes reach
 * the host's fsync(2), on the WAL segment, before the commit resolves. PGlite opened as it ships
 * makes none (the last case), which is why this file exists.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDurablePglite } from './pglite-durable.ts';
import { servePglite } from './pglite-server.ts';

const folders: string[] = [];
const folder = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-durable-'));
  folders.push(dir);
  return path.join(dir, 'pglite');
};

/** The files fsync(2) was called on while `work` ran, by path. */
async function syncedDuring(work: () => Promise<unknown>): Promise<string[]> {
  const fsync = fs.fsyncSync;
  const synced: string[] = [];
  const spy = vi.spyOn(fs, 'fsyncSync').mockImplementation((fd: number) => {
    synced.push(fs.readlinkSync(`/proc/self/fd/${fd}`));
    fsync(fd);
  });
  try {
    await work();
  } finally {
    spy.mockRestore();
  }
  return synced;
}

afterEach(() => {
  for (const dir of folders.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the embedded database on a folder', () => {
  it('when it is opened, then PostgreSQL runs with fsync on and syncs its WAL with fsync', async () => {
    const db = await createDurablePglite(folder());
    try {
      expect((await db.query<{ fsync: string }>('show fsync')).rows[0].fsync).toBe('on');
      expect((await db.query<{ wal_sync_method: string }>('show wal_sync_method')).rows[0].wal_sync_method).toBe('fsync');
    } finally {
      await db.close();
    }
  });

  it('when a row is committed, then its WAL segment is fsynced to the disk before the commit answers, and the row is there after a restart', async () => {
    const dir = folder();
    const db = await createDurablePglite(dir);
    await db.query('create table answers (id int primary key)');
    const synced = await syncedDuring(() => db.query('insert into answers values (1)'));
    expect(synced).toContainEqual(expect.stringMatching(/\/pg_wal\/[0-9A-F]{24}$/));
    // Reading commits nothing: no fsync is asked for.
    expect(await syncedDuring(() => db.query('select * from answers'))).toEqual([]);
    await db.close();

    const again = await createDurablePglite(dir);
    expect((await again.query('select id from answers')).rows).toEqual([{ id: 1 }]);
    await again.close();
  });

  it('when it is served to other processes (lantern db), then the served database is the durable one', async () => {
    const server = await servePglite(folder());
    const client = new pg.Client({ connectionString: server.url });
    try {
      await client.connect();
      expect((await client.query('show fsync')).rows[0].fsync).toBe('on');
    } finally {
      await client.end();
      await server.stop();
    }
  });

  it('when PGlite is opened as it ships, then a commit fsyncs nothing (the gap this closes)', async () => {
    const db = await PGlite.create(folder());
    try {
      await db.query('create table answers (id int primary key)');
      expect(await syncedDuring(() => db.query('insert into answers values (1)'))).toEqual([]);
      expect((await db.query<{ fsync: string }>('show fsync')).rows[0].fsync).toBe('off');
    } finally {
      await db.close();
    }
  });
});
