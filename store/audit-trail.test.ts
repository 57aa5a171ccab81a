/**
 * Stories of an audit trail that must not lose or rewrite history: tampering in the
 * database (edit, delete, swap, truncate, re-hash) found by verify; one unstorable
 * calculation audit failing alone and loudly; records outliving a database outage and a
 * close; an exported segment and a study's bundle verified offline, and caught when altered.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AuditSeal } from './audit-anchor.ts';
import { verifyAuditDocument } from './audit-offline.ts';
import { openAuditKey, publicKeyPem, signHead } from './audit-seal.ts';
import { openDatabase, type Database } from './db.ts';
import { migrate } from './migrate.ts';
import { ALL_SITES, AuditUnavailableError, createStore, UnstorableTextError, type Store, type StoreOptions } from './store.ts';
import { finding, newInstance, rehashFrom } from './test-fixtures.ts';

const prioritise: StoreOptions['prioritise'] = () => ({ priority: 0, why: 'awaiting AI', whyZh: '等待 AI' });
const model = { id: 'pce-ascvd', version: '1.0.0', sha256: 'c'.repeat(64) };
const calculation = (age: number) => ({ kind: 'risk', model, inputs: { age }, result: { risk: age / 1000 } });
const open: Store[] = [];
let db: Database;

beforeAll(async () => {
  db = await openDatabase({ pgliteDir: 'memory://' });
  await migrate(db);
});
afterAll(() => db.close());
afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
  await db.query('drop trigger if exists refuse_poison on audit');
  await db.query('delete from audit');
});

/** A store over the test's PGlite (its chain emptied) with its key and checkpoints in a fresh folder; `fail` makes every query fail while true. */
async function sealedStore(options: Partial<StoreOptions> = {}, dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-audit-'))) {
  const control = { fail: false, conflicts: 0, lostAnswers: 0 };
  const conflict = () => Object.assign(new Error('could not serialize access'), { code: '40001' });
  const flaky: Database = {
    kind: db.kind,
    query: (sql, params) => (control.fail ? Promise.reject(new Error('connection refused')) : db.query(sql, params)),
    transaction: (work, o) => (control.fail ? Promise.reject(new Error('connection refused'))
      : control.conflicts-- > 0 ? Promise.reject(conflict())
        : db.transaction(work, o).then((result) => (control.lostAnswers-- > 0 ? Promise.reject(Object.assign(new Error('connection lost'), { code: '08006' })) : result))),
    close: async () => undefined,
  };
  const seal: AuditSeal = { key: openAuditKey(path.join(dir, 'signing-key.pem')), checkpointFile: path.join(dir, 'checkpoints.jsonl'), intervalMs: 0 };
  const errors: string[] = [];
  const store = createStore(flaky, { prioritise, auditSeal: seal, auditSpoolFile: path.join(dir, 'spool.jsonl'), onAuditError: (e) => errors.push((e as Error).message), ...options });
  open.push(store);
  return { store, db, dir, seal, control, errors };
}

/** Twelve records, checkpointed after the tenth: the last two are newer than any signed head. */
async function chainOfTwelve(store: Store) {
  for (let i = 0; i < 10; i += 1) await store.recordCalculation('Dr Wu', calculation(40 + i));
  await store.checkpointAudit();
  for (let i = 10; i < 12; i += 1) await store.recordCalculation('Dr Wu', calculation(40 + i));
}

describe('tampering with the audit table', () => {
  it('when nothing was touched, then verify is intact and anchored to the last checkpoint', async () => {
    const { store } = await sealedStore();
    await chainOfTwelve(store);
    expect(await store.verifyAudit()).toMatchObject({ intact: true, checked: 12, anchor: { checkpoints: 1, latest: { seq: 10 }, unanchored: 2 } });
  });

  it.each([
    ['edited', (db: Database) => db.query(`update audit set actor = 'mallory' where seq = 5`), undefined, 5],
    ['deleted', (db: Database) => db.query('delete from audit where seq = 5'), undefined, 5],
    ['swapped', async (db: Database) => {
      await db.query('update audit set seq = -1 where seq = 5');
      await db.query('update audit set seq = 5 where seq = 6');
      await db.query('update audit set seq = 6 where seq = -1');
    }, undefined, 5],
    ['truncated (the newest rows deleted, back past the checkpoint)', (db: Database) => db.query('delete from audit where seq >= 9'), 'truncated', 9],
    ['re-hashed after an edit', async (db: Database) => {
      await db.query(`update audit set payload = replace(payload, '"age":44', '"age":24') where seq = 5`);
      await rehashFrom(db, 5);
    }, 'rewritten', 10],
  ])('when a record is %s, then verify says so', async (_, tamper, reason, firstBrokenSeq) => {
    const { store, db } = await sealedStore();
    await chainOfTwelve(store);
    await tamper(db);
    const verification = await store.verifyAudit();
    expect(verification).toMatchObject({ intact: false, firstBrokenSeq });
    expect((verification as { reason?: string }).reason).toBe(reason);
  });

  it('when the chain was re-hashed, then the checkpointer refuses to sign the new head and the audit turns degraded', async () => {
    const { store, db, errors } = await sealedStore();
    await chainOfTwelve(store);
    await db.query(`update audit set actor = 'mallory' where seq = 3`);
    await rehashFrom(db, 3);
    await expect(store.checkpointAudit()).rejects.toThrow(/no longer extends the head signed/);
    expect(store.auditStatus()).toMatchObject({ state: 'degraded', checkpoints: { state: 'degraded' } });
    expect(errors.join()).toMatch(/refusing to sign/);
  });

  it('when the checkpoint file is altered, then verify says so', async () => {
    const { store, seal } = await sealedStore();
    await chainOfTwelve(store);
    const line = JSON.parse(fs.readFileSync(seal.checkpointFile, 'utf8').trim());
    fs.writeFileSync(seal.checkpointFile, `${JSON.stringify({ ...line, seq: 3 })}\n`);
    expect(await store.verifyAudit()).toMatchObject({ intact: false, reason: 'checkpoint' });
  });
});

describe('calculation audits that must not be lost', () => {
  it('when one calculation\'s actor holds a NUL, then it alone fails (422-typed, nothing queued) and the others in its group commit land', async () => {
    const { store } = await sealedStore();
    const outcomes = await Promise.allSettled([
      store.recordCalculation('Dr Wu', calculation(50)),
      store.recordCalculation('Dr\u0000Wu', calculation(51)),
      store.recordCalculation('Dr Lone\uD800', calculation(52)),
      ...Array.from({ length: 20 }, (_, i) => store.recordCalculation('Dr Li', calculation(60 + i))),
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(21);
    expect(outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason)).toEqual([expect.any(UnstorableTextError), expect.any(UnstorableTextError)]);
    expect((await store.listAudit({ limit: 100, entityId: 'pce-ascvd@1.0.0' })).length).toBe(21);
    expect(store.auditStatus()).toMatchObject({ state: 'ok', records: { pending: 0 } });
    expect(await store.verifyAudit()).toMatchObject({ intact: true, checked: 21 });
  });

  it('when the database refuses one record of a batch, then the rest are written, it is quarantined in the chain, its caller fails and health sees degraded', async () => {
    const { store, db, errors } = await sealedStore();
    await db.query(`create function refuse_poison() returns trigger language plpgsql as $$
      begin if new.actor = 'poison' then raise exception 'refused by a trigger'; end if; return new; end $$`);
    await db.query('create trigger refuse_poison before insert on audit for each row execute function refuse_poison()');
    const outcomes = await Promise.allSettled([
      store.recordCalculation('Dr Wu', calculation(50)),
      store.recordCalculation('poison', calculation(51)),
      store.recordCalculation('Dr Li', calculation(52)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(AuditUnavailableError);
    const trail = await store.listAudit({ limit: 10 });
    expect(trail.map((r) => r.action).sort()).toEqual(['audit.unstorable', 'risk.calculated', 'risk.calculated']);
    expect(trail.find((r) => r.action === 'audit.unstorable')!.payload.record).toMatch(/"actor":"poison"/);
    expect(store.auditStatus()).toMatchObject({ state: 'degraded', records: { quarantined: 1, pending: 0 } });
    expect(errors.join()).toMatch(/quarantined/);
  });

  it('when commits fail for a transient reason while the database answers, then no record is quarantined: all are written on retry', async () => {
    const { store, control } = await sealedStore();
    control.conflicts = 3;
    await Promise.all([store.recordCalculation('Dr Wu', calculation(50)), store.recordCalculation('Dr Li', calculation(51))]);
    expect(store.auditStatus()).toMatchObject({ state: 'ok', records: { pending: 0, quarantined: 0 } });
    expect((await store.listAudit({ limit: 10 })).map((r) => r.action)).toEqual(['risk.calculated', 'risk.calculated']);
  });

  it('when a commit lands but its answer is lost, then the retry finds the records and writes no second one', async () => {
    const { store, control } = await sealedStore();
    control.lostAnswers = 1;
    await Promise.all([store.recordCalculation('Dr Wu', calculation(50)), store.recordCalculation('Dr Li', calculation(51))]);
    await store.recordCalculation('Dr Wu', calculation(52));
    expect((await store.listAudit({ limit: 10 })).map((r) => r.payload.inputs)).toEqual([{ age: 52 }, { age: 51 }, { age: 50 }]);
    expect(await store.verifyAudit()).toMatchObject({ intact: true, checked: 3 });
  });

  it('when the database is down, then the answer fails within the wait, health is degraded, and the record is written once it returns', async () => {
    const { store, control } = await sealedStore({ auditWaitMs: 150 });
    control.fail = true;
    await expect(store.recordCalculation('Dr Wu', calculation(70))).rejects.toBeInstanceOf(AuditUnavailableError);
    expect(store.auditStatus()).toMatchObject({ state: 'degraded', records: { pending: 1, lastError: 'connection refused' } });
    control.fail = false;
    await expect.poll(() => store.auditStatus().records.pending, { timeout: 3000 }).toBe(0);
    expect(store.auditStatus().state).toBe('ok');
    expect((await store.listAudit({ limit: 10 })).map((r) => r.payload.inputs)).toEqual([{ age: 70 }]);
  });

  it('when two API processes record calculations in turn, then each is chained onto the other\'s last record, never onto its own, and the chain verifies', async () => {
    const [first, second] = [await sealedStore(), await sealedStore()];
    for (let i = 0; i < 3; i += 1) {
      await first.store.recordCalculation('Dr Wu', calculation(30 + i));
      await second.store.recordCalculation('Dr Li', calculation(40 + i));
      await second.store.recordCalculation('Dr Li', calculation(50 + i));
    }
    const trail = await first.store.listAudit({ limit: 20 });
    expect(trail.map((r) => r.seq).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(trail.map((r) => (r.payload.inputs as { age: number }).age).sort((a, b) => a - b)).toEqual([30, 31, 32, 40, 41, 42, 50, 51, 52]);
    expect(await first.store.verifyAudit()).toMatchObject({ intact: true, checked: 9 });
  });

  it('when the store closes with records it cannot write, then they are spooled and the next store writes them once', async () => {
    const first = await sealedStore({ auditWaitMs: 50 });
    first.control.fail = true;
    await expect(first.store.recordCalculation('Dr Wu', calculation(80))).rejects.toBeInstanceOf(AuditUnavailableError);
    await first.store.close();
    open.splice(open.indexOf(first.store), 1);
    const spool = path.join(first.dir, 'spool.jsonl');
    expect(fs.readFileSync(spool, 'utf8')).toMatch(/"age":80/);
    const second = await sealedStore({}, first.dir);
    await expect.poll(() => fs.existsSync(spool), { timeout: 3000 }).toBe(false);
    expect((await second.store.listAudit({ limit: 10 })).map((r) => r.payload.inputs)).toEqual([{ age: 80 }]);
  });
});

describe('verified offline', () => {
  it('when a segment is exported, then it verifies with the public key alone, and any alteration of the file is named', async () => {
    const { store, seal } = await sealedStore();
    await chainOfTwelve(store);
    const segment = await store.exportAudit({ from: 3 });
    const key = publicKeyPem(seal.key);
    expect(verifyAuditDocument(segment, key)).toMatchObject({ ok: true, kind: 'segment', checked: 10, head: { seq: 12 }, key: 'given' });
    expect(verifyAuditDocument(await store.exportAudit({ from: 2, to: 6 }), key)).toMatchObject({ ok: true, checked: 5, head: { seq: 6 } });

    const copy = () => JSON.parse(JSON.stringify(segment)) as typeof segment;
    const edited = copy();
    edited.records[4].payload = edited.records[4].payload.replace('"age":46', '"age":26');
    expect(verifyAuditDocument(edited, key).problems.join()).toMatch(/record 7 was altered/);
    const truncated = copy();
    truncated.records.splice(-2);
    expect(verifyAuditDocument(truncated, key).problems.join()).toMatch(/records were removed from its end/);
    const dropped = copy();
    dropped.records.splice(3, 1);
    expect(verifyAuditDocument(dropped, key).ok).toBe(false);
    const forged = copy();
    forged.heads.at(-1)!.hash = 'f'.repeat(64);
    expect(verifyAuditDocument(forged, key).problems.join()).toMatch(/not validly signed/);
    const otherKey = publicKeyPem(openAuditKey(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-other-')), 'k.pem')));
    expect(verifyAuditDocument(segment, otherKey).problems.join()).toMatch(/not by the key given/);
  });

  it('when a study\'s bundle is issued, then its images, findings, decisions and audit verify offline, and an altered bundle does not', async () => {
    const { store, seal } = await sealedStore();
    const input = newInstance({ blobSha256: 'd'.repeat(64) });
    await store.recordInstance(input, 'stow-rs');
    const f = finding(input.sopInstanceUid, 0.9);
    await store.recordFindings(input.sopInstanceUid, [f], 'worker:1');
    await store.recordReview(f.id, { decision: 'override', reasonCode: 'not-visible', reviewer: 'Dr Li' }, ALL_SITES);
    await store.recordCalculation('Dr Wu', calculation(55));
    const bundle = await store.auditBundle(input.study.studyInstanceUid);
    expect(bundle.body.audit.map((r) => r.action)).toEqual(['instance.received', 'finding.created', 'finding.override']);
    expect(bundle.body.images).toEqual([{ sopInstanceUid: input.sopInstanceUid, seriesInstanceUid: input.seriesInstanceUid, sha256: 'd'.repeat(64) }]);
    const key = publicKeyPem(seal.key);
    expect(verifyAuditDocument(bundle, key)).toMatchObject({ ok: true, kind: 'bundle', checked: 3 });

    const altered = JSON.parse(JSON.stringify(bundle)) as typeof bundle;
    altered.body.images[0].sha256 = 'e'.repeat(64);
    const problems = verifyAuditDocument(altered, key).problems.join();
    expect(problems).toMatch(/signature does not match/);
    expect(problems).toMatch(/not the one its receipt recorded/);
  });

  it('when compared with a witness\'s heads, then a head the witness holds beyond a segment, a head it was not given by this key, or another hash at a seq the document holds are named; later heads do not fail a bundle', async () => {
    const { store, seal } = await sealedStore();
    await chainOfTwelve(store);
    const key = publicKeyPem(seal.key);
    const whole = await store.exportAudit();
    const atTen = whole.heads.find((h) => h.seq === 10)!;
    expect(verifyAuditDocument(whole, key, [atTen])).toMatchObject({ ok: true, witnessHeads: 1 });
    expect(verifyAuditDocument(await store.exportAudit({ to: 8 }), key, [atTen]).problems.join()).toMatch(/witness received a head at seq 10 .* but the segment ends at 8: records 9–10 were removed/);
    expect(verifyAuditDocument(whole, key, [{ ...atTen, hash: 'f'.repeat(64) }]).problems.join()).toMatch(/witness holds a head at seq 10 not signed by this key/);
    expect(verifyAuditDocument(whole, key, [signHead(seal.key, { seq: 10, hash: 'f'.repeat(64) })]).problems.join()).toMatch(/hash at seq 10 differs from the head the witness received/);

    const input = newInstance({ blobSha256: 'd'.repeat(64) });
    await store.recordInstance(input, 'stow-rs');
    const bundle = await store.auditBundle(input.study.studyInstanceUid);
    const later = signHead(seal.key, { seq: bundle.body.head.seq + 5, hash: 'a'.repeat(64) });
    expect(verifyAuditDocument(bundle, key, [atTen, later])).toMatchObject({ ok: true, witnessHeads: 2 });
    expect(verifyAuditDocument(bundle, key, [signHead(seal.key, { seq: bundle.body.head.seq, hash: 'f'.repeat(64) })]).ok).toBe(false);
  });

  it('when the chain does not verify, then nothing is signed over it', async () => {
    const { store, db } = await sealedStore();
    await chainOfTwelve(store);
    await db.query('delete from audit where seq >= 9');
    await expect(store.exportAudit()).rejects.toThrow(/does not verify/);
  });
});
