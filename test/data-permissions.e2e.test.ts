/**
 * What Lantern keeps on disk is its user's alone: after `lantern start` has stored and read
 * a study (PGlite in its own process, the private redis-server, stored DICOM), no folder or
 * file under the data folder is readable or writable by group or others, and the private
 * servers' passwords sit in 0600 files there.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from './support/api-client.ts';
import { files } from './support/shared-data.ts';
import { startStack, type Stack } from './support/stack.ts';

describe('files under the data folder', () => {
  let stack: Stack;

  beforeAll(async () => {
    // A first install: `lantern start` creates the database itself, so its files are the ones checked.
    stack = await startStack({ workers: 1, freshDatabase: true });
  }, 180_000);
  afterAll(async () => stack?.stop());

  it('when a study has been stored and read, then no file or folder is open to group or others', async () => {
    const api = apiClient(stack.baseUrl, stack.token);
    const { status, body } = await api.stow([files.chestRaw]);
    expect(status).toBe(200);
    await api.settled(body.stored![0].studyInstanceUid, 120_000);

    const entries = fs.readdirSync(stack.dataDir, { recursive: true, withFileTypes: true });
    const open = entries
      .map((e) => path.join(e.parentPath, e.name))
      .filter((p) => (fs.lstatSync(p).mode & 0o077) !== 0)
      .map((p) => `${path.relative(stack.dataDir, p)} ${(fs.lstatSync(p).mode & 0o777).toString(8)}`);
    expect(entries.length).toBeGreaterThan(100); // PGlite's files, the AOF, the blob: the walk saw the real thing
    expect(open).toEqual([]);
    expect(fs.statSync(path.join(stack.dataDir, 'pglite', 'lantern-password')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(stack.dataDir, 'redis', 'lantern-redis.conf')).mode & 0o777).toBe(0o600);
  }, 180_000);
});
