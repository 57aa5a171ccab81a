import path from 'node:path';
import { openAuditKey } from './audit-seal.ts';
import type { WitnessTarget } from './audit-witness.ts';
import { openDatabase } from './db.ts';
import { migrate } from './migrate.ts';
import { createStore, type StoreOptions } from './store.ts';

export interface OpenStoreOptions extends Omit<StoreOptions, 'auditSeal' | 'auditSpoolFile'> {
  databaseUrl?: string;
  databasePoolMax?: number;
  databaseNamedStatements?: boolean;
  /** Folder under which PGlite keeps its files when no `databaseUrl` is given, and the audit's files by default. */
  dataDir: string;
  schema?: string;
  /** The audit chain's Ed25519 signing key (created 0600 when missing); default `<dataDir>/audit/signing-key.pem`. */
  auditKeyFile?: string;
  /** Append-only file of signed chain heads; default `<dataDir>/audit/checkpoints.jsonl`. */
  auditCheckpointFile?: string;
  /** Seconds between checkpoints of a moved head (0 = only on demand and at close); default 10. */
  auditCheckpointSeconds?: number;
  /** Another Lantern each checkpoint is also sent to (audit-witness.ts); none by default. */
  auditWitnessTarget?: WitnessTarget;
}

/** Opens the database (PGlite or PostgreSQL), brings its schema up to date and returns the store, its audit chain sealed. */
export async function openStore(options: OpenStoreOptions) {
  const auditDir = path.join(options.dataDir, 'audit');
  // The key is read before the database opens: a store that cannot sign its chain does not start.
  const key = openAuditKey(options.auditKeyFile ?? path.join(auditDir, 'signing-key.pem'));
  const db = await openDatabase({
    databaseUrl: options.databaseUrl,
    pgliteDir: path.join(options.dataDir, 'pglite'),
    schema: options.schema,
    poolMax: options.databasePoolMax,
    namedStatements: options.databaseNamedStatements,
  });
  await migrate(db);
  return createStore(db, {
    ...options,
    // A PGlite in this process is no one else's.
    soleWriter: options.soleWriter || !options.databaseUrl,
    auditSpoolFile: path.join(auditDir, 'calculations-spool.jsonl'),
    auditSeal: {
      key,
      checkpointFile: options.auditCheckpointFile ?? path.join(auditDir, 'checkpoints.jsonl'),
      intervalMs: (options.auditCheckpointSeconds ?? 10) * 1000,
      witness: options.auditWitnessTarget,
    },
  });
}
