import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createBlobStore } from './blobs.ts';

describe('blob store', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-blobs-'));
  const blobs = createBlobStore(dir);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const filesUnder = (folder: string): string[] => fs.readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((name) => fs.statSync(path.join(folder, name)).isFile());

  // A radiograph-sized blob (written synchronously) and one past the synchronous limit.
  it.each([['677 kB', 677_000], ['6 MB', 6_000_000]])('when a %s blob is put twice, then it is stored once under its SHA-256, whole, with no temp file left', async (_, size) => {
    const bytes = new Uint8Array(size).map((_, i) => (i * 7 + size) % 251);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    expect(await blobs.put(bytes)).toBe(sha256);
    const stored = path.join(dir, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
    const firstWrite = fs.statSync(stored).mtimeMs;
    expect(await blobs.put(bytes)).toBe(sha256);
    expect(fs.statSync(stored).mtimeMs).toBe(firstWrite);
    expect(Buffer.from(await blobs.get(sha256)).equals(Buffer.from(bytes))).toBe(true);
    expect(filesUnder(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  // The shard folder is created only when the write finds it missing (store/blobs.ts writeCreatingFolder).
  it.each([['677 kB', 677_000], ['6 MB', 6_000_000]])('when a %s blob goes into a store folder not yet made, or into a shard folder removed since, then the folders are made and it is stored whole', async (_, size) => {
    const root = path.join(dir, `fresh-${size}`, 'blobs');
    const fresh = createBlobStore(root);
    const bytes = new Uint8Array(size).map((_, i) => (i * 13 + size) % 241);
    const sha256 = await fresh.put(bytes);
    fs.rmSync(path.join(root, sha256.slice(0, 2)), { recursive: true });
    expect(await fresh.put(bytes)).toBe(sha256);
    expect(Buffer.from(await fresh.get(sha256)).equals(Buffer.from(bytes))).toBe(true);
    expect(filesUnder(root)).toEqual([path.join(sha256.slice(0, 2), sha256.slice(2, 4), sha256)]);
  });

  // Staged (store/blobs.ts `stage`): written while the caller waits for something else, named only on commit.
  it.each([['677 kB', 677_000], ['6 MB', 6_000_000]])('when a %s blob is staged, then nothing is under its name until commit, which names it whole and answers its SHA-256', async (_, size) => {
    const root = path.join(dir, `staged-${size}`);
    const store = createBlobStore(root);
    const bytes = new Uint8Array(size).map((_, i) => (i * 17 + size) % 239);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const staged = store.stage(bytes);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(filesUnder(root).filter((name) => !name.endsWith('.tmp'))).toEqual([]);
    expect(await staged.commit()).toBe(sha256);
    expect(await staged.commit()).toBe(sha256);
    await staged.discard();
    expect(filesUnder(root)).toEqual([path.join(sha256.slice(0, 2), sha256.slice(2, 4), sha256)]);
    expect(Buffer.from(await store.get(sha256)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('when a staged blob is discarded, at once or once written, then no file is left; when it is stored already, then commit leaves the stored file as it was', async () => {
    const root = path.join(dir, 'discarded');
    const store = createBlobStore(root);
    const bytes = new Uint8Array(677_000).map((_, i) => (i * 5) % 233);
    await store.stage(bytes).discard();
    const written = store.stage(bytes);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await written.discard();
    expect(fs.existsSync(root) ? filesUnder(root) : []).toEqual([]);
    const sha256 = await store.put(bytes);
    const stored = path.join(root, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
    const firstWrite = fs.statSync(stored).mtimeMs;
    expect(await store.stage(bytes).commit()).toBe(sha256);
    expect(fs.statSync(stored).mtimeMs).toBe(firstWrite);
    expect(filesUnder(root)).toEqual([path.join(sha256.slice(0, 2), sha256.slice(2, 4), sha256)]);
  });

  it('when a store reads synchronously (as a worker does), then it returns the same bytes', async () => {
    const bytes = new Uint8Array(300_000).map((_, i) => i % 249);
    const sha256 = await blobs.put(bytes);
    const workerBlobs = createBlobStore(dir, { readSynchronously: true });
    expect(Buffer.from(await workerBlobs.get(sha256)).equals(Buffer.from(bytes))).toBe(true);
    await expect(workerBlobs.get('a'.repeat(64))).rejects.toThrow(/ENOENT/);
  });

  /**
   * What a power cut would keep: every flush to the disk while `work` ran, as [call, path]. A
   * radiograph's bytes through node:fs's fdatasync, a larger upload's and every folder's through the
   * FileHandle opened; the paths are read from /proc while the descriptor is open.
   */
  async function flushedDuring(work: () => Promise<unknown>): Promise<[string, string][]> {
    const flushed: [string, string][] = [];
    const where = (fd: number) => fs.readlinkSync(`/proc/self/fd/${fd}`);
    const handle = await fs.promises.open(dir, 'r');
    const fileHandle = Object.getPrototypeOf(handle) as { datasync(): Promise<void>; sync(): Promise<void> };
    await handle.close();
    const spies = [
      vi.spyOn(fs, 'fdatasync').mockImplementation(((fd: number, done: (error: null) => void) => {
        flushed.push(['fdatasync', where(fd)]);
        done(null);
      }) as typeof fs.fdatasync),
      vi.spyOn(fileHandle, 'datasync').mockImplementation(async function (this: { fd: number }) { flushed.push(['fdatasync', where(this.fd)]); }),
      vi.spyOn(fileHandle, 'sync').mockImplementation(async function (this: { fd: number }) { flushed.push(['fsync', where(this.fd)]); }),
    ];
    try {
      await work();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    return flushed;
  }

  it.each([['677 kB', 677_000], ['6 MB', 6_000_000]])('when a %s blob is committed into a new store, then its bytes, its name and its new folders are on the disk before commit answers; stored again, nothing is flushed', async (_, size) => {
    const root = fs.realpathSync(fs.mkdtempSync(path.join(dir, 'durable-')));
    const store = createBlobStore(root);
    const bytes = new Uint8Array(size).map((_, i) => (i * 19 + size) % 227);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const shard = path.join(root, sha256.slice(0, 2), sha256.slice(2, 4));
    const flushed = await flushedDuring(() => store.put(bytes));
    expect(flushed).toEqual([
      // The shard's folders, made for this blob, recorded in the folders above them.
      ['fsync', path.dirname(shard)],
      ['fsync', root],
      // The bytes under their temporary name, then the name they are renamed to.
      ['fdatasync', expect.stringMatching(new RegExp(`^${shard}/${sha256}\\.[0-9a-f-]{36}\\.tmp$`))],
      ['fsync', shard],
    ]);
    expect(await flushedDuring(() => store.put(bytes))).toEqual([]);
  });

  it('when a name is not a SHA-256, then get refuses it rather than read outside the store', async () => {
    await expect(blobs.get('../../etc/passwd')).rejects.toThrow(/not a sha256/);
  });
});
