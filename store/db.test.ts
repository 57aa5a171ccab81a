/**
 * A transaction's statements sent together (store/db.ts): its first read behind `begin` and its
 * lock, its commit behind its last statement. Each pair is one round trip; what they do must be
 * what the same statements one at a time do, failures included. On every backend.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from './db.ts';
import { databaseBackends } from './test-backends.ts';

const LOCK = 7_301_999;

describe.each(databaseBackends({ inMemory: true }))('a transaction on $name', (backend) => {
  let db: Database;
  beforeAll(async () => {
    db = await backend.open();
    await db.query('create table if not exists pipelined (id int primary key, body text not null)');
  });
  afterAll(async () => {
    await db.query('drop table if exists pipelined');
    await backend.cleanUp?.(db);
    await db.close();
    await backend.afterClose?.();
  });

  const bodies = async () => (await db.query<{ id: number; body: string }>('select id, body from pipelined order by id')).rows;

  it('when its first read has parameters, then it runs under the lock, writes in the transaction and work gets its rows', async () => {
    const rows = await db.transaction(async (tx, first) => {
      await tx.last!('update pipelined set body = body || $1', ['!']);
      return first;
    }, { advisoryLock: LOCK, firstRead: { sql: `with added as (insert into pipelined values ($1, $2) returning id)
      select (select id from added) as id, exists (select 1 from pg_locks where locktype = 'advisory' and objid = ${LOCK} and granted) as locked`, params: [1, 'one'] } });
    expect(rows).toEqual([{ id: 1, locked: true }]);
    expect(await bodies()).toEqual([{ id: 1, body: 'one!' }]);
  });

  it('when its first read fails, then nothing it or begin did stays and the error is the read\'s', async () => {
    await expect(db.transaction(async () => 'not reached', { advisoryLock: LOCK, firstRead: { sql: 'insert into pipelined values ($1, $2) returning id', params: [1, 'again'] } }))
      .rejects.toMatchObject({ code: '23505' });
    expect(await bodies()).toEqual([{ id: 1, body: 'one!' }]);
    // The session is usable, out of any transaction.
    expect((await db.query<{ n: number }>('select 1 as n')).rows).toEqual([{ n: 1 }]);
  });

  it('when its last statement fails, then the commit sent behind it commits none of the transaction\'s writes', async () => {
    await expect(db.transaction(async (tx) => {
      await tx.query('insert into pipelined values ($1, $2)', [2, 'two']);
      await tx.last!('insert into pipelined values ($1, $2)', [1, 'duplicate']);
    })).rejects.toMatchObject({ code: '23505' });
    expect(await bodies()).toEqual([{ id: 1, body: 'one!' }]);
    await db.transaction(async (tx) => {
      await tx.query('insert into pipelined values ($1, $2)', [2, 'two']);
      await tx.last!('insert into pipelined values ($1, $2)', [3, 'three']);
    });
    expect(await bodies()).toEqual([{ id: 1, body: 'one!' }, { id: 2, body: 'two' }, { id: 3, body: 'three' }]);
  });
});
