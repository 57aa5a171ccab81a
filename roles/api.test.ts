/**
 * The API role keeps its embedded PGlite analysed (store/upkeep.ts): PGlite runs no autovacuum,
 * so an installation whose tables were never analysed — every one before this upkeep existed —
 * has them analysed as the API starts, not at the first interval.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../store/db.ts';
import { copyPgliteTemplate } from '../test/support/pglite-template.ts';
import { startTestApi, type TestApi } from '../test/support/api-role.ts';
import { waitFor } from '../test/support/stack.ts';

describe('the API role on an embedded PGlite', () => {
  let api: TestApi;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-upkeep-'));

  beforeAll(async () => {
    // An installation holding 5,000 studies that no one ever analysed.
    await copyPgliteTemplate(path.join(dataDir, 'pglite'));
    const db = await openDatabase({ pgliteDir: path.join(dataDir, 'pglite') });
    await db.query(`insert into studies (study_instance_uid) select 'upkeep.' || g from generate_series(1, 5000) g`);
    expect((await db.query<{ analysed: boolean }>(`select last_analyze is not null as analysed from pg_stat_user_tables where relname = 'studies'`)).rows).toEqual([{ analysed: false }]);
    await db.close();
    api = await startTestApi({ dataDir, blobDir: path.join(dataDir, 'blobs') });
  }, 60_000);
  afterAll(async () => {
    await api?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('when it starts on tables never analysed, then it analyses them, and the planner knows their size', async () => {
    const studies = await waitFor(async () => {
      const { rows: [row] } = await api.store.db.query<{ analysed: boolean; estimate: number }>(
        `select s.last_analyze is not null as analysed, c.reltuples::int as estimate from pg_stat_user_tables s join pg_class c on c.oid = s.relid where s.relname = 'studies'`);
      return row.analysed ? row : undefined;
    }, 'the studies table analysed', 20_000);
    expect(studies.estimate).toBeGreaterThanOrEqual(5000);
  });
});
