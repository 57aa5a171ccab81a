/**
 * The upkeep PGlite needs because it runs no autovacuum (store/upkeep.ts): a table that changed
 * past autovacuum's thresholds is analysed (vacuumed too when its dead or new rows call for
 * it), one that did not is left alone, and the scheduler leaves a PostgreSQL server to its own
 * autovacuum.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from './db.ts';
import { databaseBackends, openMigratedStore } from './test-backends.ts';
import { unranked } from './test-fixtures.ts';
import { runsAutovacuum, upkeepPass } from './upkeep.ts';

describe.each(databaseBackends({ inMemory: true }))('database upkeep on $name', (backend) => {
  let db: Database;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ db, close } = await openMigratedStore(backend, { prioritise: unranked }));
  });
  afterAll(() => close?.());

  /** The table's statistics as the planner and the activity counters see them, counters flushed first. */
  async function tableState(table: string) {
    await db.query('select pg_stat_force_next_flush()');
    // The flush happens at the end of the transaction that asked for it: this is the next one.
    const { rows: [row] } = await db.query<{ analysed: boolean; changed: number; dead: number; estimate: number }>(
      `select s.last_analyze is not null as analysed, s.n_mod_since_analyze::int as changed, s.n_dead_tup::int as dead, c.reltuples::int as estimate
         from pg_stat_user_tables s join pg_class c on c.oid = s.relid where s.schemaname = current_schema() and s.relname = $1`, [table]);
    return row;
  }

  it('says whether the database vacuums itself: PGlite never does, a PostgreSQL server when its setting is on', async () => {
    const { rows: [setting] } = await db.query<{ autovacuum: string }>('show autovacuum');
    expect(await runsAutovacuum(db)).toBe(backend.name === 'PostgreSQL' && setting.autovacuum === 'on');
  });

  it('when 5,000 studies arrive and then half change, then a pass analyses and vacuums their table, and the next pass leaves it', async () => {
    const tag = `upkeep-${Date.now()}`;
    await db.query(`insert into studies (study_instance_uid) select $1 || g from generate_series(1, 5000) g`, [tag]);
    await tableState('studies');
    let pass = await upkeepPass(db);
    const studies = pass.analysed.find((name) => name.endsWith('.studies'));
    expect(studies).toBeDefined();
    const analysed = await tableState('studies');
    expect(analysed).toMatchObject({ analysed: true, changed: 0 });
    expect(analysed.estimate).toBeGreaterThanOrEqual(5000);

    // Changed rows under the threshold (50 + 10% of the table) call for nothing.
    await db.query(`update studies set priority = 1 where study_instance_uid in (select $1 || g from generate_series(1, 40) g)`, [tag]);
    await tableState('studies');
    pass = await upkeepPass(db);
    expect(pass.analysed).not.toContain(studies);

    await db.query(`update studies set priority = 2 where study_instance_uid like $1 || '%' and right(study_instance_uid, 1) in ('0', '2', '4', '6', '8')`, [tag]);
    expect((await tableState('studies')).dead).toBeGreaterThan(2000);
    pass = await upkeepPass(db);
    expect(pass.vacuumed).toContain(studies);
    expect(await tableState('studies')).toMatchObject({ dead: 0, changed: 0 });
  });
});
