import { createHash, randomUUID } from 'node:crypto';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * Up to this size a blob is written with synchronous calls (its flush to the disk waits in the
 * thread pool): on the page cache that is about a millisecond, less than the four thread-pool round trips of the asynchronous
 * calls (in situ, a 677 kB radiograph: p50 2.1–2.8 → 1.2–1.6 ms, q75 3.8–10 → 1.4–1.9 ms,
 * on the way to its job being queued). Larger uploads are written asynchronously, so the
 * API's event loop is never held for long.
 */
const SYNC_WRITE_MAX_BYTES = 4 * 1024 * 1024;

/**
 * The same steps, either way; awaiting a synchronous result costs nothing. Durable: a file's bytes,
 * and a folder's entries, are forced to the disk (fdatasync, fsync) before the step resolves, so that
 * a blob the database names (its row committed, and fsynced, after `commit`) survives a power cut.
 * The flushes wait on the disk in the thread pool, never on the API's event loop: on a clinic's
 * spinning disk one can take tens of milliseconds.
 */
interface FileSteps {
  mkdir(dir: string, options: { recursive: true }): unknown;
  exists(file: string): boolean | Promise<boolean>;
  writeFile(file: string, bytes: Uint8Array): unknown;
  rename(from: string, to: string): unknown;
}

const syncSteps: FileSteps = {
  mkdir: fsSync.mkdirSync,
  exists: fsSync.existsSync,
  async writeFile(file, bytes) {
    const fd = fsSync.openSync(file, 'w');
    try {
      fsSync.writeFileSync(fd, bytes);
      await promisify(fsSync.fdatasync)(fd);
    } finally {
      fsSync.closeSync(fd);
    }
  },
  rename: fsSync.renameSync,
};

const asyncSteps: FileSteps = {
  mkdir: fs.mkdir,
  exists: (file) => fs.access(file).then(() => true, () => false),
  async writeFile(file, bytes) {
    const handle = await fs.open(file, 'w');
    try {
      await handle.writeFile(bytes);
      await handle.datasync();
    } finally {
      await handle.close();
    }
  },
  rename: fs.rename,
};

/** Forces a folder's entries (a file renamed into it, a folder made in it) to the disk. */
async function syncFolder(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes `file`, creating its shard folder only when the write finds it missing (ENOENT): once
 * the store holds a few thousand blobs nearly every folder exists, and an unconditional
 * recursive mkdir cost the API ~2.5 ms of CPU per upload (issue 16's profile). The folders it
 * creates are made durable where they are named: the shard in its first level, that in the root.
 */
async function writeCreatingFolder(steps: FileSteps, file: string, bytes: Uint8Array): Promise<void> {
  try {
    await steps.writeFile(file, bytes);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const shard = path.dirname(file);
    await steps.mkdir(shard, { recursive: true });
    // root/ab/cd/<file>: the entries of cd in ab, and of ab in the root.
    const firstLevel = path.dirname(shard);
    await syncFolder(firstLevel);
    await syncFolder(path.dirname(firstLevel));
    await steps.writeFile(file, bytes);
  }
}

export interface BlobStoreOptions {
  /**
   * Read with one synchronous call (default false). For a worker process, whose event loop
   * has nothing else to do while it holds a job: it saves the thread-pool round trips of an
   * asynchronous read on the way to the decode. Never in the API, whose loop serves people.
   */
  readSynchronously?: boolean;
}

/**
 * Files stored by the SHA-256 of their bytes, so the same upload is stored once and a
 * stored file can be checked against its name. API and workers must see the same folder.
 */
export function createBlobStore(dir: string, options: BlobStoreOptions = {}) {
  const pathOf = (sha256: string) => {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return path.join(dir, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  };
  /**
   * `put` in two steps, for a caller with other work to wait for first: the hash and the write
   * start now (run it while that work runs: the API stages an upload while its parse runs on
   * another thread, taking ~1 ms of hash and write off the upload's way to its job), the
   * name is given only by `commit`, so an upload refused meanwhile is `discard`ed and leaves
   * nothing (a crash leaves at most a `.tmp` file, as one during `put` does). `bytes` must not
   * change until `commit` or `discard` has resolved.
   */
  const stage = (bytes: Uint8Array): StagedBlob => {
    const steps = bytes.byteLength <= SYNC_WRITE_MAX_BYTES ? syncSteps : asyncSteps;
    const written = (async () => {
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const target = pathOf(sha256);
      if (await steps.exists(target)) return { sha256, target, temp: undefined };
      const temp = `${target}.${randomUUID()}.tmp`;
      await writeCreatingFolder(steps, temp, bytes);
      return { sha256, target, temp };
    })();
    written.catch(() => undefined);
    let committed: Promise<string> | undefined;
    return {
      commit() {
        committed ??= written.then(async ({ sha256, target, temp }) => {
          if (temp) {
            await steps.rename(temp, target);
            // The new name, durable in its folder before the caller commits a row that names it.
            await syncFolder(path.dirname(target));
          }
          return sha256;
        });
        return committed;
      },
      async discard() {
        if (committed) return;
        const done = await written.catch(() => undefined);
        if (!committed && done?.temp) await fs.rm(done.temp, { force: true });
      },
    };
  };
  return {
    /** Writes atomically (temp file + rename): a crash never leaves a half file under a valid name. */
    put: (bytes: Uint8Array): Promise<string> => stage(bytes).commit(),
    stage,
    /**
     * The file's bytes, read once and not copied: a plain Uint8Array over the memory the read
     * filled (`new Uint8Array(buffer)` would copy it: 677 kB per radiograph, twice per CR study
     * in a worker). Plain, not the Buffer itself, so that `slice()` copies as a Uint8Array's does.
     */
    async get(sha256: string): Promise<Uint8Array> {
      const file = pathOf(sha256);
      const read = options.readSynchronously ? fsSync.readFileSync(file) : await fs.readFile(file);
      return new Uint8Array(read.buffer, read.byteOffset, read.byteLength);
    },
  };
}

export type BlobStore = ReturnType<typeof createBlobStore>;

/** A blob on its way in: hashed and written under a temporary name (store/blobs.ts `stage`). */
export interface StagedBlob {
  /** Names it by its hash (the rename `put` makes) and answers the hash; a second call answers the same. */
  commit(): Promise<string>;
  /** Removes what was written, unless committed; safe to call at any time, and again. */
  discard(): Promise<void>;
}
