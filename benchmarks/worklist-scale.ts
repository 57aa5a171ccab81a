/**
 * The worklist's read on a database holding many studies (PGlite in this process): studies, a
 * film each (one in ten waiting for AI), findings on the others and reviews on most, written
 * straight in SQL, then the worklist's first page read as the API reads it (store getWorklist,
 * every site), unfiltered and filtered to "ready". Reports the median and worst of the reads, and
 * how the plan reads studies (the index, or every row). `--upkeep` runs the API's upkeep pass
 * (store/upkeep.ts: tables analysed as autovacuum would) before the reads; without it the
 * tables are unanalysed, as PGlite left them before that pass existed.
 *
 *   npx tsx benchmarks/worklist-scale.ts [studies=20000] [reads=9] [--upkeep]
 */
import { openDatabase } from '../store/db.ts';
import { migrate } from '../store/migrate.ts';
import { ALL_SITES, createStore } from '../store/store.ts';
import { worklistStatement } from '../store/study-reads.ts';
import type { WorklistFilter } from '../store/types.ts';
import { unranked } from '../store/test-fixtures.ts';
import { upkeepPass } from '../store/upkeep.ts';
import { summarise } from './stats.ts';

const [studies = 20_000, reads = 9] = process.argv.slice(2).filter((a) => !a.startsWith('--')).map(Number);
const db = await openDatabase({ pgliteDir: 'memory://' });
await migrate(db);
const store = createStore(db, { soleWriter: true, prioritise: unranked });
let started = performance.now();
const insertRows = (sql: string) => db.query(sql.replace('$n', String(studies)));
await insertRows(`insert into studies (study_instance_uid, priority, received_at) select 's' || g, random(), now() - g * interval '1 second' from generate_series(1, $n) g`);
await insertRows(`insert into series (series_instance_uid, study_instance_uid, modality) select 'r' || g, 's' || g, 'CR' from generate_series(1, $n) g`);
await insertRows(`insert into instances (sop_instance_uid, series_instance_uid, study_instance_uid, sop_class_uid, transfer_syntax_uid, blob_sha256, byte_size, status)
  select 'i' || g, 'r' || g, 's' || g, '1.2', '1.2', 'x', 1, case when g % 10 = 0 then 'queued' else 'done' end from generate_series(1, $n) g`);
await insertRows(`insert into findings (id, sop_instance_uid, study_instance_uid, label, display, probability, positive, operating_point, model, timing_ms)
  select 'f' || g, 'i' || g, 's' || g, 'p', 'P', random(), true, '{}', '{"id":"m","version":"1"}', '{}' from generate_series(1, $n) g where g % 10 <> 0`);
await insertRows(`insert into reviews (finding_id, decision, reviewer) select 'f' || g, 'accept', 'dr' from generate_series(1, $n) g where g % 10 > 3`);
// Written past the store, so their status is computed as migration 027 does for the studies it finds.
await db.query('update studies set status = study_status(study_instance_uid)');
console.log(`${studies} studies written in ${((performance.now() - started) / 1000).toFixed(1)} s`);
if (process.argv.includes('--upkeep')) {
  started = performance.now();
  const pass = await upkeepPass(db);
  console.log(`upkeep pass (store/upkeep.ts): ${((performance.now() - started) / 1000).toFixed(2)} s, analysed ${pass.analysed.length} tables, vacuumed ${pass.vacuumed.length}`);
}
const filters: [string, WorklistFilter][] = [['worklist, every status', { sites: ALL_SITES }], ['worklist, "ready" only', { sites: ALL_SITES, statuses: ['ready'] }]];
for (const [label, filter] of filters) {
  const times: number[] = [];
  for (let i = 0; i < reads; i++) {
    started = performance.now();
    await store.getWorklist(filter, 200);
    times.push(performance.now() - started);
  }
  const { sql, params } = worklistStatement(filter, 200);
  const plan = (await db.query<Record<string, string>>(`explain ${sql}`, params)).rows.map((r) => Object.values(r)[0]).join('\n');
  const studiesRead = /Index Scan using studies_worklist/.test(plan) ? 'through studies_worklist' : /Seq Scan on studies/.test(plan) ? 'every row (sequential scan)' : 'another way';
  const { p50, max } = summarise(times);
  console.log(`${label}: p50 ${p50.toFixed(1)} ms, worst ${max.toFixed(1)} ms over ${reads} reads; studies read ${studiesRead}`);
}
process.exit(0);
