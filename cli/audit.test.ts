/**
 * `lantern audit verify <file>` as whoever receives an export would run it: the real CLI,
 * no database, no network, only the file and the public key.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../store/db.ts';
import { migrate } from '../store/migrate.ts';
import { openAuditKey } from '../store/audit-seal.ts';
import { ALL_SITES, createStore, type Store } from '../store/store.ts';
import { finding, newInstance } from '../store/test-fixtures.ts';

const run = promisify(execFile);
const bin = path.join(import.meta.dirname, '..', 'bin', 'lantern.mjs');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-cli-audit-'));
const keyFile = path.join(dir, 'signing-key.pem');

/** Runs `lantern audit verify`; resolves with the exit code and what it printed. */
async function verify(file: string, ...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(process.execPath, [bin, 'audit', 'verify', file, ...args], { env: { ...process.env, LANTERN_DATA_DIR: dir } });
    return { code: 0, out: stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    return { code: failed.code, out: failed.stdout };
  }
}

let db: Database;
let store: Store;
let studyUid: string;

beforeAll(async () => {
  db = await openDatabase({ pgliteDir: 'memory://' });
  await migrate(db);
  store = createStore(db, { prioritise: () => ({ priority: 0, why: '', whyZh: '' }), auditSeal: { key: openAuditKey(keyFile), checkpointFile: path.join(dir, 'checkpoints.jsonl'), intervalMs: 0 } });
  const input = newInstance({ blobSha256: '1'.repeat(64) });
  studyUid = input.study.studyInstanceUid;
  await store.recordInstance(input, 'stow-rs');
  const f = finding(input.sopInstanceUid);
  await store.recordFindings(input.sopInstanceUid, [f], 'worker:1');
  await store.recordReview(f.id, { decision: 'accept', reviewer: 'Dr Li' }, ALL_SITES);
  await store.recordCalculation('Dr Wu', { kind: 'risk', model: { id: 'pce-ascvd', version: '1.0.0', sha256: 'c'.repeat(64) }, inputs: { age: 60 }, result: { risk: 0.1 } });
});
afterAll(async () => {
  await store.close();
});

describe('lantern audit verify', () => {
  it('when given an exported segment and the public key, then it verifies offline; when a record in the file is altered, then it names it and exits 1', async () => {
    const file = path.join(dir, 'segment.json');
    const segment = await store.exportAudit();
    fs.writeFileSync(file, JSON.stringify(segment));
    const good = await verify(file, '--key', `${keyFile}.pub`);
    expect(good).toMatchObject({ code: 0 });
    expect(good.out).toMatch(/segment, 4 records checked, anchored to the head signed at seq 4/);
    expect(good.out).toMatch(/^VERIFIED$/m);

    segment.records[1].actor = 'worker:2';
    fs.writeFileSync(file, JSON.stringify(segment));
    const bad = await verify(file, '--key', `${keyFile}.pub`);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/record 2 was altered/);
  });

  it('when given a study\'s bundle without --key, then the key beside LANTERN_DATA_DIR\'s signing key is used; an altered decision fails', async () => {
    const file = path.join(dir, 'bundle.json');
    const bundle = await store.auditBundle(studyUid);
    fs.writeFileSync(file, JSON.stringify(bundle));
    fs.mkdirSync(path.join(dir, 'audit'), { recursive: true });
    fs.copyFileSync(`${keyFile}.pub`, path.join(dir, 'audit', 'signing-key.pem.pub'));
    expect(await verify(file)).toMatchObject({ code: 0, out: expect.stringMatching(/bundle, 3 records checked[^]*VERIFIED/) });

    (bundle.body.decisions.reviews[0] as { decision: string }).decision = 'override';
    fs.writeFileSync(file, JSON.stringify(bundle));
    expect(await verify(file)).toMatchObject({ code: 1, out: expect.stringMatching(/signature does not match its content/) });
  });
});
