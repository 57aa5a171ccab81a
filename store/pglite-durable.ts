import fs from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { NodeFS } from '@electric-sql/pglite/nodefs';

/**
 * PGlite as it ships is not durable: it starts PostgreSQL with fsync off (`-F` in its default
 * start parameters), and its Emscripten file system for Node (NODEFS) has no fsync at all, so
 * even with fsync on, a commit would reach the operating system's page cache and never be forced
 * to the disk. A power cut — a village clinic's ordinary day — could then lose commits already
 * answered (an audit record, a finding a radiologist saw) and, with fsync off, leave the cluster
 * corrupt (PostgreSQL's documentation of `fsync`).
 *
 * Here: fsync on, the WAL flushed with `fsync` (PGlite's `fdatasync` syscall is a no-op, its
 * `fsync` calls the file system's), and NODEFS given an fsync that calls the host's, installed
 * before PostgreSQL starts (so crash recovery's own syncs are real too). A failed fsync raises the
 * file's errno into PostgreSQL, which stops rather than carry on as if the data were safe.
 * A `memory://` database has no disk: it is opened as PGlite opens it.
 */
export function createDurablePglite(dir: string): Promise<PGlite> {
  if (dir.startsWith('memory://')) return PGlite.create(dir);
  const startParams = [...PGlite.defaultStartParams.filter((p) => p !== '-F'), '-c', 'fsync=on', '-c', 'wal_sync_method=fsync'];
  return PGlite.create({ fs: new SyncingNodeFS(dir), startParams });
}

type EmscriptenOptions = Parameters<NodeFS['init']>[1];
type Stream = { nfd?: number };
/** What of Emscripten's NODEFS this reaches into (not in PGlite's types): checked at start. */
type NodeFsInternals = { stream_ops?: { fsync?: (stream: Stream) => unknown }; tryFSOperation?: (operation: () => unknown) => unknown };

/** PGlite's NodeFS, whose NODEFS file streams fsync to the disk. */
class SyncingNodeFS extends NodeFS {
  override async init(pg: PGlite, options: EmscriptenOptions) {
    const { emscriptenOpts } = await super.init(pg, options);
    const installFsync = (mod: { FS: { filesystems: { NODEFS: unknown } } }) => {
      const nodefs = mod.FS.filesystems.NODEFS as NodeFsInternals;
      if (!nodefs.stream_ops || !nodefs.tryFSOperation) throw new Error('this PGlite build has no NODEFS stream operations to give an fsync: the embedded database would not be durable');
      const tryOperation = nodefs.tryFSOperation.bind(nodefs);
      nodefs.stream_ops.fsync = (stream) => {
        if (stream.nfd !== undefined) tryOperation(() => fs.fsyncSync(stream.nfd!));
      };
    };
    return { emscriptenOpts: { ...emscriptenOpts, preRun: [installFsync, ...(emscriptenOpts.preRun ?? [])] } };
  }
}
