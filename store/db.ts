import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';

/**
 * The one database surface Lantern uses. PGlite (embedded default) and PostgreSQL
 * (`DATABASE_URL`) both speak it, so every query and migration is the same SQL.
 */
export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: Row[] }>;
}

export interface Database extends Queryable {
  /** Runs `work` in one transaction: commits if it resolves, rolls back if it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  readonly kind: 'pglite' | 'postgres';
}

export interface DatabaseOptions {
  /** PostgreSQL URL; when absent PGlite is opened under `pgliteDir`. */
  databaseUrl?: string;
  /** PGlite data folder; `memory://` for a throwaway database. */
  pgliteDir?: string;
  /** PostgreSQL schema to use (created if missing); lets tests share one server without colliding. */
  schema?: string;
  /**
   * Connections in the pool (default 10). A PGlite served over a socket is one session:
   * it needs 1, so that transactions never interleave.
   */
  poolMax?: number;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options.schema, options.poolMax ?? 10);
  return openPglite(options.pgliteDir ?? 'memory://');
}

async function openPglite(dir: string): Promise<Database> {
  if (!dir.startsWith('memory://')) fs.mkdirSync(path.dirname(dir), { recursive: true });
  const db = await PGlite.create(dir);
  return {
    kind: 'pglite',
    query: (sql, params) => db.query(sql, params) as never,
    transaction: (work) => db.transaction((tx) => work({ query: (sql, params) => tx.query(sql, params) as never })),
    close: () => db.close(),
  };
}

async function openPostgres(url: string, schema: string | undefined, poolMax: number): Promise<Database> {
  if (schema && !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name "${schema}"`);
  // The startup option applies search_path before any query on every pooled connection.
  const pool = new pg.Pool({ connectionString: url, max: poolMax, options: schema ? `-c search_path=${schema}` : undefined });
  if (schema) await pool.query(`create schema if not exists ${schema}`);
  return {
    kind: 'postgres',
    query: (sql, params) => pool.query(sql, params as unknown[]) as never,
    async transaction(work) {
      const client = await pool.connect();
      try {
        await client.query('begin');
        const result = await work({ query: (sql, params) => client.query(sql, params as unknown[]) as never });
        await client.query('commit');
        return result;
      } catch (error) {
        await client.query('rollback').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
