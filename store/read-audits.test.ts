/**
 * Stories of reads of patient data in the audit trail: coalesced per user × study × window,
 * written in the background, flushed at close, never duplicated by a retried commit, and
 * refused rather than served unrecorded when the audit cannot keep up.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from './db.ts';
import { migrate } from './migrate.ts';
import { AuditUnavailableError, createStore, type Store, type StoreOptions } from './store.ts';

const prioritise: StoreOptions['prioritise'] = () => ({ priority: 0, why: 'awaiting AI', whyZh: '等待 AI' });
const STUDY = '1.2.826.0.1.3680043.8.498.1';
const viewed = (entityId = STUDY, what = 'frames') => ({ action: 'study.viewed', entityType: 'study', entityId, what });
const open: Store[] = [];
let db: Database;

beforeAll(async () => {
  db = await openDatabase({ pgliteDir: 'memory://' });
  await migrate(db);
});
afterAll(() => db.close());
afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
  await db.query('delete from audit');
});

/**
 * A store over the test's PGlite whose `close` leaves the database open. `down` makes every
 * query fail; `ambiguous` makes the next commits succeed but report a lost connection.
 */
function storeOver(options: Partial<StoreOptions> = {}) {
  const control = { down: false, ambiguous: 0 };
  const lost = () => Object.assign(new Error('connection terminated unexpectedly'), { code: '08006' });
  const flaky: Database = {
    kind: db.kind,
    query: (sql, params) => (control.down ? Promise.reject(lost()) : db.query(sql, params)),
    transaction: async (work, o) => {
      if (control.down) throw lost();
      const result = await db.transaction(work, o);
      if (control.ambiguous-- > 0) throw lost();
      return result;
    },
    close: async () => undefined,
  };
  const store = createStore(flaky, { prioritise, ...options });
  open.push(store);
  return { store, control };
}

const records = async (store: Store, action = 'study.viewed') => store.listAudit({ limit: 100, action });

describe('reads of patient data in the audit trail', () => {
  it('when a reader views a study and reads 500 frames within the window, then one record holds the counts, written once the window passes', async () => {
    const { store } = storeOver({ readAuditWindowMs: 200 });
    store.recordRead('dr.wu', viewed(STUDY, 'view'));
    for (let i = 0; i < 500; i += 1) store.recordRead('dr.wu', viewed());
    expect(await records(store)).toEqual([]);
    await expect.poll(async () => (await records(store)).length, { timeout: 3000 }).toBe(1);
    const [record] = await records(store);
    expect(record).toMatchObject({ actor: 'dr.wu', action: 'study.viewed', entityType: 'study', entityId: STUDY, payload: { reads: { view: 1, frames: 500 } } });
    expect(Date.parse(record.payload.to as string)).toBeGreaterThanOrEqual(Date.parse(record.payload.from as string));
    // The next read opens a new window: a second record, not a rewrite of the first.
    store.recordRead('dr.wu', viewed());
    await store.flushReadAudits();
    expect((await records(store)).map((r) => r.payload.reads)).toEqual([{ frames: 1 }, { view: 1, frames: 500 }]);
    expect(await store.verifyAudit()).toMatchObject({ intact: true, checked: 2 });
  });

  it('when two readers read the same study and one reads another, then each user × study has its own record', async () => {
    const { store } = storeOver();
    const other = `${STUDY}.2`;
    for (let i = 0; i < 3; i += 1) store.recordRead('dr.wu', viewed());
    store.recordRead('dr.li', viewed());
    store.recordRead('dr.wu', viewed(other, 'view'));
    await store.flushReadAudits();
    const byReader = (await records(store)).map((r) => [r.actor, r.entityId, r.payload.reads]);
    expect(byReader).toHaveLength(3);
    expect(byReader).toEqual(expect.arrayContaining([['dr.wu', STUDY, { frames: 3 }], ['dr.li', STUDY, { frames: 1 }], ['dr.wu', other, { view: 1 }]]));
  });

  it('when a list is viewed three times, then one record names the union of the studies it showed', async () => {
    const { store } = storeOver();
    const list = (studies: string[]) => ({ action: 'worklist.viewed', entityType: 'list', entityId: 'worklist', what: 'view', studies });
    store.recordRead('dr.wu', list([`${STUDY}.2`, STUDY]));
    store.recordRead('dr.wu', list([STUDY]));
    store.recordRead('dr.wu', list([`${STUDY}.3`]));
    await store.flushReadAudits();
    const [record] = await records(store, 'worklist.viewed');
    expect(record.payload).toMatchObject({ reads: { view: 3 }, studies: [STUDY, `${STUDY}.2`, `${STUDY}.3`] });
  });

  it('when the store closes with records open, then they are written before it closes', async () => {
    const { store } = storeOver();
    store.recordRead('dr.wu', viewed());
    store.recordRead('dr.wu', viewed());
    open.pop();
    await store.close();
    expect((await records(store)).map((r) => r.payload.reads)).toEqual([{ frames: 2 }]);
    expect(() => store.recordRead('dr.wu', viewed())).toThrow(AuditUnavailableError);
  });

  it('when a commit succeeds but its answer is lost, then the retry writes nothing twice', async () => {
    const { store, control } = storeOver();
    store.recordRead('dr.wu', viewed());
    store.recordRead('dr.li', viewed());
    control.ambiguous = 1;
    await store.flushReadAudits();
    expect((await records(store)).map((r) => r.actor).sort()).toEqual(['dr.li', 'dr.wu']);
    expect(await store.verifyAudit()).toMatchObject({ intact: true, checked: 2 });
  });

  it('when the database is down, then reads are still counted, health is degraded, and the record is written once it returns', async () => {
    const { store, control } = storeOver();
    control.down = true;
    store.recordRead('dr.wu', viewed());
    const flushed = store.flushReadAudits();
    await expect.poll(() => store.auditStatus().state).toBe('degraded');
    expect(store.auditStatus().records).toMatchObject({ pending: 1 });
    control.down = false;
    await flushed;
    expect(store.auditStatus()).toMatchObject({ state: 'ok', records: { pending: 0 } });
    expect(await records(store)).toHaveLength(1);
  });

  it('when 20,000 records already wait for a database that is down, then a further read is refused (503), not served unrecorded', async () => {
    const { store, control } = storeOver();
    control.down = true;
    for (let i = 0; i < 20_000; i += 1) store.recordRead('dr.wu', viewed(`${STUDY}.${i}`));
    void store.flushReadAudits();
    expect(store.auditStatus().records.pending).toBe(20_000);
    expect(() => store.recordRead('dr.wu', viewed())).toThrow(/wait for the database/);
    control.down = false;
    await expect.poll(() => store.auditStatus().records.pending, { timeout: 30_000 }).toBe(0);
    expect(() => store.recordRead('dr.wu', viewed())).not.toThrow();
  });
});
