import path from 'node:path';
import { openDatabase } from './db.ts';
import { migrate } from './migrate.ts';
import { createStore, type StoreOptions } from './store.ts';

export interface OpenStoreOptions extends StoreOptions {
  databaseUrl?: string;
  databasePoolMax?: number;
  databaseNamedStatements?: boolean;
  /** Folder under which PGlite keeps its files when no `databaseUrl` is given. */
  dataDir: string;
  schema?: string;
}

/** Opens the database (PGlite or PostgreSQL), brings its schema up to date and returns the store. */
export async function openStore(options: OpenStoreOptions) {
  const db = await openDatabase({
    databaseUrl: options.databaseUrl,
    pgliteDir: path.join(options.dataDir, 'pglite'),
    schema: options.schema,
    poolMax: options.databasePoolMax,
    namedStatements: options.databaseNamedStatements,
  });
  await migrate(db);
  return createStore(db, options);
}
