/**
 * What PostgreSQL's autovacuum does — statistics for the planner, dead rows made reusable — for
 * a database that runs none: the embedded PGlite is one session with no background workers, so
 * its tables were never analysed and every plan was made blind. At 20,000 studies the
 * worklist's page took 316 ms to read unanalysed and 10 ms analysed (benchmarks/worklist-scale.ts).
 *
 * A table is analysed, or vacuumed (and analysed), when autovacuum with its default settings
 * would: more rows changed since its last analysis than 50 + 10% of its rows; more dead rows
 * than 50 + 20%, or more rows inserted since its last vacuum than 1,000 + 20% (which keeps the
 * visibility map, and so index-only scans, current). And a table never analysed at all: those
 * counters start again at zero when PGlite reopens its folder, while the catalog remembers that
 * no analysis ever sized the table (reltuples -1). One table per statement, so the API's own
 * statements interleave with them on PGlite's one session.
 */
import { logger } from '../log.ts';
import type { Queryable } from './db.ts';

export interface UpkeepPass {
  analysed: string[];
  vacuumed: string[];
}

/** Whether the database runs its own autovacuum (a PostgreSQL server with it on); PGlite never does. */
export async function runsAutovacuum(db: Queryable): Promise<boolean> {
  const { rows: [row] } = await db.query<{ running: boolean }>(
    `select exists (select 1 from pg_stat_activity where backend_type = 'autovacuum launcher') as running`);
  return row.running;
}

/** One pass: analyses and vacuums the tables of the current schema that are due, as autovacuum would. */
export async function upkeepPass(db: Queryable): Promise<UpkeepPass> {
  const { rows } = await db.query<{ name: string; analyse: boolean; vacuum: boolean }>(
    `select format('%I.%I', s.schemaname, s.relname) as name,
            c.reltuples < 0 or s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0) as analyse,
            s.n_dead_tup > 50 + 0.2 * greatest(c.reltuples, 0) or s.n_ins_since_vacuum > 1000 + 0.2 * greatest(c.reltuples, 0) as vacuum
       from pg_stat_user_tables s join pg_class c on c.oid = s.relid
      where s.schemaname = current_schema()
      order by s.relname`);
  const pass: UpkeepPass = { analysed: [], vacuumed: [] };
  for (const table of rows) {
    if (table.vacuum) {
      await db.query(`vacuum (analyze) ${table.name}`);
      pass.vacuumed.push(table.name);
      pass.analysed.push(table.name);
    } else if (table.analyse) {
      await db.query(`analyze ${table.name}`);
      pass.analysed.push(table.name);
    }
  }
  return pass;
}

/**
 * Runs a pass now and every `intervalMs` (0: never) when the database has no autovacuum of its
 * own; a PostgreSQL server's is left to do it. A pass that fails is logged and tried again at
 * the next interval. `stop` waits for a pass in progress.
 */
export async function startUpkeep(db: Queryable, intervalMs: number): Promise<{ stop(): Promise<void> }> {
  if (intervalMs <= 0 || await runsAutovacuum(db)) return { stop: async () => undefined };
  let running: Promise<void> = Promise.resolve();
  const pass = () => {
    running = running.then(async () => {
      const started = performance.now();
      const done = await upkeepPass(db);
      if (done.analysed.length > 0) logger.info({ ...done, ms: Math.round(performance.now() - started) }, 'database upkeep: tables analysed and vacuumed as autovacuum would');
    }).catch((error) => logger.warn({ err: error }, 'database upkeep failed; it runs again at the next interval'));
  };
  pass();
  const timer = setInterval(pass, intervalMs).unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
