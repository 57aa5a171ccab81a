/**
 * The databases a store test runs on, each opened fresh: PGlite served over the wire protocol
 * (what `lantern start` runs), optionally PGlite in memory, and PostgreSQL when
 * `LANTERN_TEST_DATABASE_URL` names one (in a schema of the test's own, dropped afterwards).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, type Database } from './db.ts';
import { migrate } from './migrate.ts';
import { servePglite, type PgliteServer } from './pglite-server.ts';
import { createStore, type Store, type StoreOptions } from './store.ts';

export interface DatabaseBackend {
  name: string;
  open: () => Promise<Database>;
  /** Before close: what the test left in a shared server. */
  cleanUp?: (db: Database) => Promise<unknown>;
  /** After close: the server the backend started. */
  afterClose?: () => Promise<unknown>;
  /** The store is the database's only writer, as Lantern runs PGlite (StoreOptions.soleWriter). */
  soleWriter: boolean;
}

/** `postgresPoolMax: 1` when a test reads that backend's own statistics. */
export function databaseBackends(options: { inMemory: boolean; postgresPoolMax?: number }): DatabaseBackend[] {
  let served: PgliteServer | undefined;
  const backends: DatabaseBackend[] = [
    ...(options.inMemory ? [{ name: 'PGlite', open: () => openDatabase({ pgliteDir: 'memory://' }), soleWriter: true }] : []),
    {
      name: 'PGlite served over the wire protocol',
      soleWriter: true,
      open: async () => {
        served = await servePglite(fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-served-')));
        return openDatabase({ databaseUrl: served.url, poolMax: 1, namedStatements: true });
      },
      afterClose: async () => served?.stop(),
    },
  ];
  const postgresUrl = process.env.LANTERN_TEST_DATABASE_URL;
  if (postgresUrl) {
    const schema = `t_${randomUUID().replace(/-/g, '')}`;
    backends.push({
      name: 'PostgreSQL',
      soleWriter: false,
      open: () => openDatabase({ databaseUrl: postgresUrl, schema, ...(options.postgresPoolMax ? { poolMax: options.postgresPoolMax } : {}) }),
      cleanUp: (db) => db.query(`drop schema ${schema} cascade`),
    });
  }
  return backends;
}

/** A store on a migrated database of `backend`; `close` removes what the test left and stops what the backend started. */
export async function openMigratedStore(backend: DatabaseBackend, options: StoreOptions): Promise<{ db: Database; store: Store; close: () => Promise<void> }> {
  const db = await backend.open();
  await migrate(db);
  return {
    db,
    store: createStore(db, { soleWriter: backend.soleWriter, ...options }),
    close: async () => {
      await backend.cleanUp?.(db);
      await db.close();
      await backend.afterClose?.();
    },
  };
}
