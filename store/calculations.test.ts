/**
 * Stories of the calculation audit's commit on the databases `lantern start` and a deployment
 * use (PGlite served over the wire protocol; PostgreSQL when LANTERN_TEST_DATABASE_URL names
 * one): a risk answer waits for its record, so the record costs one round trip when the chain's
 * head is the one this store last committed, and never forks the chain when it is not.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { appendAudit, auditedTransaction } from './audit.ts';
import { openDatabase, type Database } from './db.ts';
import { migrate } from './migrate.ts';
import { createStore, type Store } from './store.ts';
import { databaseBackends, type DatabaseBackend } from './test-backends.ts';

const prioritise = () => ({ priority: 0, why: 'awaiting AI', whyZh: '等待 AI' });
const model = { id: 'pce-ascvd', version: '1.0.0', sha256: 'c'.repeat(64) };
const calculation = (age: number) => ({ kind: 'risk', model, inputs: { age }, result: { risk: age / 1000 } });
const ages = async (store: Store) => (await store.listAudit({ limit: 50 })).map((r) => (r.payload.inputs as { age?: number } | undefined)?.age ?? r.action).reverse();

/** The database as the store sees it, counting what it sends: statements outside a transaction, and transactions. */
function counted(db: Database) {
  const sent = { queries: 0, transactions: 0, loseNextAnswer: false };
  const wrapper: Database = {
    kind: db.kind,
    async query(sql, params) {
      sent.queries += 1;
      const answer = await db.query(sql, params);
      if (sent.loseNextAnswer) {
        sent.loseNextAnswer = false;
        throw Object.assign(new Error('connection lost'), { code: '08006' });
      }
      return answer as never;
    },
    transaction: (work, options) => {
      sent.transactions += 1;
      return db.transaction(work, options);
    },
    close: () => db.close(),
  };
  return { db: wrapper, sent };
}

const cleanUps: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanUp of cleanUps.splice(0).reverse()) await cleanUp();
});

async function storeOn(backend: DatabaseBackend) {
  const db = await backend.open();
  await migrate(db);
  const { db: counting, sent } = counted(db);
  const store = createStore(counting, { prioritise });
  cleanUps.push(async () => {
    await backend.cleanUp?.(db);
    await store.close();
    await backend.afterClose?.();
  });
  return { db, store, sent };
}

describe.each(databaseBackends({ inMemory: false }))('calculation audits on $name', (backend) => {
  it('when the head this store last committed still holds, then each record is one round trip (the chain\'s lock and one statement) and the chain verifies', async () => {
    const { store, sent } = await storeOn(backend);
    await store.recordCalculation('Dr Wu', calculation(50));
    // The first commit reads the head (begin with the lock and the head, statement, commit).
    expect(sent).toMatchObject({ transactions: 1 });
    const before = { ...sent };
    for (let i = 1; i <= 5; i += 1) await store.recordCalculation('Dr Wu', calculation(50 + i));
    expect(sent.transactions - before.transactions).toBe(0);
    expect(sent.queries - before.queries).toBe(5);
    expect(await ages(store)).toEqual([50, 51, 52, 53, 54, 55]);
    expect(await store.verifyAudit()).toMatchObject({ intact: true, checked: 6 });
  });

  it('when another writer appended since this store\'s last commit, then the record is chained onto that writer\'s record, never onto its own last one', async () => {
    const { db, store } = await storeOn(backend);
    for (let i = 0; i < 3; i += 1) {
      await store.recordCalculation('Dr Wu', calculation(60 + i));
      await auditedTransaction(db, (tx) => appendAudit(tx, { actor: 'worker', action: 'finding.created', entityType: 'finding', entityId: `f${i}`, payload: { i } }));
    }
    await store.recordCalculation('Dr Wu', calculation(63));
    expect(await ages(store)).toEqual([60, 'finding.created', 61, 'finding.created', 62, 'finding.created', 63]);
    expect(await store.verifyAudit()).toMatchObject({ intact: true, checked: 7 });
  });

  it('when a one-round-trip commit lands but its answer is lost, then the retry finds the record and writes no second one', async () => {
    const { store, sent } = await storeOn(backend);
    await store.recordCalculation('Dr Wu', calculation(70));
    sent.loseNextAnswer = true;
    await store.recordCalculation('Dr Li', calculation(71));
    await store.recordCalculation('Dr Wu', calculation(72));
    expect(await ages(store)).toEqual([70, 71, 72]);
    expect(await store.verifyAudit()).toMatchObject({ intact: true, checked: 3 });
  });

  it('when a record is the only one of its event-loop turn, then it is committed without waiting for a timer', async () => {
    const { store } = await storeOn(backend);
    await store.recordCalculation('Dr Wu', calculation(80));
    // Only setTimeout is stopped (its timers are dropped after): a commit scheduled on it (1 ms or more later) would never come.
    const realSetTimeout = globalThis.setTimeout;
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const written = store.recordCalculation('Dr Wu', calculation(81)).then(() => 'written');
      const deadline = new Promise((resolve) => realSetTimeout(resolve, 2_000, 'still waiting'));
      expect(await Promise.race([written, deadline])).toBe('written');
    } finally {
      vi.useRealTimers();
    }
    expect(await ages(store)).toEqual([80, 81]);
  });
});

const postgresUrl = process.env.LANTERN_TEST_DATABASE_URL;

describe.skipIf(!postgresUrl)('calculation audits on PostgreSQL, beside another process', () => {
  it('when another connection holds the chain\'s lock, then the record waits for it and is chained after its record', async () => {
    const schema = `t_${randomUUID().replace(/-/g, '')}`;
    const db = await openDatabase({ databaseUrl: postgresUrl!, schema });
    const other = await openDatabase({ databaseUrl: postgresUrl!, schema });
    await migrate(db);
    const store = createStore(db, { prioritise });
    cleanUps.push(async () => {
      await db.query(`drop schema ${schema} cascade`);
      await store.close();
      await other.close();
    });
    await store.recordCalculation('Dr Wu', calculation(90));
    let release!: () => void;
    const held = new Promise<void>((resolve) => { release = resolve; });
    // Run first at clean-up: a failed expectation must not leave the other transaction holding the lock.
    cleanUps.push(async () => release());
    let locked!: () => void;
    const lockTaken = new Promise<void>((resolve) => { locked = resolve; });
    // The other writer holds the lock from its begin and appends only later, as a study's write does.
    const otherAppend = auditedTransaction(other, async (tx) => {
      locked();
      await held;
      await appendAudit(tx, { actor: 'worker', action: 'finding.created', entityType: 'finding', entityId: 'f', payload: {} });
    });
    await lockTaken;
    let recorded = false;
    const record = store.recordCalculation('Dr Wu', calculation(91)).then(() => { recorded = true; });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(recorded).toBe(false);
    release();
    await Promise.all([otherAppend, record]);
    expect(await ages(store)).toEqual([90, 'finding.created', 91]);
    expect(await store.verifyAudit()).toMatchObject({ intact: true, checked: 3 });
  });
});
