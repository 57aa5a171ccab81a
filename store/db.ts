import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { logger } from '../log.ts';
import { createDurablePglite } from './pglite-durable.ts';

/**
 * The one database surface Lantern uses. PGlite (embedded default) and PostgreSQL
 * (`DATABASE_URL`) both speak it, so every query and migration is the same SQL.
 */
export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: Row[] }>;
}

export interface TransactionOptions {
  /** Takes this transaction-scoped advisory lock in the same round trip as `begin`. */
  advisoryLock?: number;
  /**
   * A statement run in the same round trip as `begin` (after the lock, so it reads under it,
   * in a snapshot of its own); its rows are `work`'s second argument. A string is a statement
   * without parameters, sent in begin's own message; with parameters it is sent behind it
   * (pipelined, store/db.ts openPostgres), and a failure rolls the transaction back as any other.
   */
  firstRead?: string | { sql: string; params: unknown[] };
}

/** A transaction's connection, as `work` is given it. */
export interface TransactionQueryable extends Queryable {
  /**
   * Runs `sql` as the transaction's last statement with the commit sent behind it: one round
   * trip for both. Resolves once both are done; nothing may be queried after it. Absent on a
   * wrapper that does not pass it on: then `query` it, and the commit follows `work` as usual.
   */
  last?<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: Row[] }>;
}

export interface Database extends Queryable {
  /** Runs `work` in one transaction: commits if it resolves, rolls back if it throws. `firstRows`: what options.firstRead read, else []. */
  transaction<T>(work: (tx: TransactionQueryable, firstRows: Record<string, unknown>[]) => Promise<T>, options?: TransactionOptions): Promise<T>;
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
  /** See LanternConfig.databaseNamedStatements. */
  namedStatements?: boolean;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options.schema, options.poolMax ?? 10, options.namedStatements ?? false);
  return openPglite(options.pgliteDir ?? 'memory://');
}

async function openPglite(dir: string): Promise<Database> {
  if (!dir.startsWith('memory://')) fs.mkdirSync(path.dirname(dir), { recursive: true });
  const db = await createDurablePglite(dir);
  return {
    kind: 'pglite',
    query: (sql, params) => db.query(sql, params) as never,
    transaction: (work, options) => db.transaction(async (tx) => {
      if (options?.advisoryLock !== undefined) await tx.query('select pg_advisory_xact_lock($1)', [options.advisoryLock]);
      const read = options?.firstRead;
      const first = read === undefined ? [] : (await (typeof read === 'string' ? tx.query<Record<string, unknown>>(read) : tx.query<Record<string, unknown>>(read.sql, read.params))).rows;
      // In process there is no round trip to save: the commit follows work.
      const query = (sql: string, params?: unknown[]) => tx.query(sql, params) as never;
      return work({ query, last: query }, first);
    }),
    close: () => db.close(),
  };
}

async function openPostgres(url: string, schema: string | undefined, poolMax: number, namedStatements: boolean): Promise<Database> {
  if (schema && !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name "${schema}"`);
  // The startup option applies search_path before any query on every pooled connection.
  // Pipeline mode: a query is written without waiting for the answer to the one before, each with its own
  // Sync. Only a transaction issues two at once (its first read behind begin, its commit behind its last
  // statement); everything else waits for each answer as before.
  const pool = new pg.Pool({ connectionString: url, max: poolMax, options: schema ? `-c search_path=${schema}` : undefined, pipeline: true });
  // An idle connection the server drops (a restart) is discarded by the pool; unheard, its error would end the process.
  pool.on('error', (error) => logger.warn({ err: error }, 'database connection lost; the pool will reconnect'));
  if (schema) await pool.query(`create schema if not exists ${schema}`);
  // Statements without parameters (migrations, begin/commit) stay in the simple protocol, which allows several per call.
  const statement = (sql: string, params?: unknown[]): pg.QueryConfig => ({
    text: sql,
    values: params,
    name: namedStatements && params !== undefined ? `s${createHash('sha1').update(sql).digest('hex')}` : undefined,
  });
  return {
    kind: 'postgres',
    query: (sql, params) => pool.query(statement(sql, params)) as never,
    async transaction(work, options) {
      const client = await pool.connect();
      // Checked out, the client has no pool listener: a connection lost between two statements would end the process.
      const lost = (error: Error) => logger.warn({ err: error }, 'database connection lost in a transaction');
      client.on('error', lost);
      let committed = false;
      try {
        const read = options?.firstRead;
        // With parameters the first read goes behind begin without waiting for it (the pool is in pipeline mode).
        const [begin, firstRead] = inOneWrite(client, () => [
          client.query(beginStatement(options)) as Promise<pg.QueryResult | pg.QueryResult[]>,
          typeof read === 'object' ? client.query(statement(read.sql, read.params)) : undefined,
        ] as const);
        const [begun, readRows] = await settleAll(begin, firstRead);
        const first = read === undefined ? [] : readRows ? readRows.rows : (Array.isArray(begun) ? begun.at(-1)!.rows : begun.rows);
        const query = (sql: string, params?: unknown[]) => {
          if (committed) return Promise.reject(new Error('a statement after the transaction\'s last one'));
          return client.query(statement(sql, params)) as never;
        };
        const last = async (sql: string, params?: unknown[]) => {
          const [answer, commit] = inOneWrite(client, () => [query(sql, params), client.query('commit')] as const);
          committed = true;
          const [rows] = await settleAll(answer, commit);
          return rows as never;
        };
        const result = await work({ query, last }, first);
        if (!committed) await client.query('commit');
        return result;
      } catch (error) {
        await client.query('rollback').catch(() => undefined);
        throw error;
      } finally {
        client.removeListener('error', lost);
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

/**
 * Runs `send`, whose queries pg writes to the socket as each is submitted, with the socket corked:
 * they leave in one write, so a served PGlite (store/pglite-server.ts) gets them as one batch and
 * executes them in one call, answering in one write.
 */
function inOneWrite<T>(client: pg.PoolClient, send: () => T): T {
  const { stream } = (client as unknown as pg.Client).connection;
  stream.cork();
  try {
    return send();
  } finally {
    stream.uncork();
  }
}

/**
 * Waits for both answers of two statements sent together, then resolves with them or rejects with
 * the earlier one's failure: neither is left unawaited, so neither rejects unheard.
 */
async function settleAll<A, B>(a: Promise<A>, b: Promise<B> | undefined): Promise<[A, B | undefined]> {
  const [x, y] = await Promise.allSettled([a, b]);
  if (x.status === 'rejected') throw x.reason;
  if (y.status === 'rejected') throw y.reason;
  return [x.value, y.value];
}

/** `begin`, the advisory lock and the first read in the same simple-protocol message: one round trip. */
function beginStatement(options: TransactionOptions | undefined): string {
  const lock = options?.advisoryLock;
  if (lock !== undefined && !Number.isSafeInteger(lock)) throw new Error(`advisory lock key must be an integer, got ${lock}`);
  const read = typeof options?.firstRead === 'string' ? options.firstRead : undefined;
  return ['begin', lock === undefined ? undefined : `select pg_advisory_xact_lock(${lock})`, read].filter(Boolean).join('; ');
}
