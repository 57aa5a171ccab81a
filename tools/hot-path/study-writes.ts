/**
 * The database's cost of one study's writes through the real store — the image received, its
 * findings, its AI results SR received — on an in-process PGlite already holding 20,000
 * studies: ms per study, seven rounds of 100. `root` is the tree whose store is measured, so a
 * worktree of an earlier commit can be run against this one (`git worktree add /tmp/before REV`).
 * NOINDEX=1 drops the worklist's index (migration 027) first.
 *
 *   npx tsx tools/hot-path/study-writes.ts [root=this tree]
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..'));
const { openDatabase } = await import(`${root}/store/db.ts`);
const { migrate } = await import(`${root}/store/migrate.ts`);
const { createStore } = await import(`${root}/store/store.ts`);
const { newInstance, finding } = await import(`${root}/store/test-fixtures.ts`);
const db = await openDatabase({ pgliteDir: 'memory://' });
await migrate(db);
if (process.env.NOINDEX) await db.query('drop index studies_worklist');
const store = createStore(db, { soleWriter: true, prioritise: () => ({ priority: Math.random(), why: 'x', whyZh: 'x' }) });
await db.query(`insert into studies (study_instance_uid, priority, received_at) select 's' || g, random(), now() - g * interval '1 second' from generate_series(1, 20000) g`);
const rounds: number[] = [];
for (let round = 0; round < 7; round++) {
  const started = performance.now();
  for (let i = 0; i < 100; i++) {
    const film = newInstance();
    await store.recordInstance(film, 'test');
    await store.recordFindings(film.sopInstanceUid, [finding(film.sopInstanceUid, 0.7)], 'model:pneumonia-cxr@1.0.0');
    await store.recordInstance({ ...film, sopInstanceUid: `${film.sopInstanceUid}.9`, seriesInstanceUid: `${film.seriesInstanceUid}.9`, modality: 'SR', pendingModels: [] }, 'model:pneumonia-cxr@1.0.0');
  }
  rounds.push((performance.now() - started) / 100);
}
const sorted = [...rounds].sort((a, b) => a - b);
console.log(`${root}${process.env.NOINDEX ? ' NOINDEX' : ''}: ms per study (image, findings, SR), median of rounds ${sorted[3].toFixed(2)}; rounds ${rounds.map((x) => x.toFixed(2)).join(' ')}`);
process.exit(0);
