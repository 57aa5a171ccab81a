/**
 * The audit chain's remote witness, told as two hospitals would live it: a clinic's Lantern
 * (A) sends each signed head of its audit chain to the county's Lantern (B). Both run as
 * `lantern api` runs (own PGlite, own private redis-server, real HTTP between them), with
 * real DICOM; A's owner, who holds A's database, checkpoint file and signing key, is the
 * attacker. Without the witness, A's rewritten chain verifies; with it, it does not.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, repoRoot, type LanternConfig } from '../config.ts';
import { ROLES, type Role } from '../contract/identity.ts';
import { DEFAULT_SITE } from '../contract/sites.ts';
import { startPrivateRedis, type PrivateRedis } from '../queue/redis-server.ts';
import { startApiRole, type ApiRole } from '../roles/api.ts';
import { auditHead } from '../store/audit.ts';
import { openAuditKey, signHead, type SignedHead } from '../store/audit-seal.ts';
import { openDatabase } from '../store/db.ts';
import { rehashFrom } from '../store/test-fixtures.ts';
import { apiClient } from './support/api-client.ts';
import { withFreshUids } from './support/dicom-builder.ts';
import { files } from './support/shared-data.ts';
import { waitFor } from './support/stack.ts';

const run = promisify(execFile);
const bin = path.join(repoRoot, 'bin', 'lantern.mjs');
/** How long A's heads may wait for B before A's health says so (LANTERN_AUDIT_WITNESS_LAG_S). */
const LAG_S = 2;

interface Node {
  dataDir: string;
  role: ApiRole;
  redis: PrivateRedis;
  port: number;
  stop(): Promise<void>;
}

/** One Lantern API role over `dataDir` (kept when it stops, so it can start again on the same `port`). */
async function startNode(dataDir: string, overrides: Partial<LanternConfig> = {}, port = 0): Promise<Node> {
  const redis = await startPrivateRedis(path.join(dataDir, 'redis'));
  const config = loadConfig({}, { port, dataDir, blobDir: path.join(dataDir, 'blobs'), redisUrl: redis.url, auditCheckpointSeconds: 0, ...overrides });
  const role = await startApiRole({ ...config, redisUrl: redis.url });
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= role.stop().then(() => redis.stop()));
  return { dataDir, role, redis, port: Number(new URL(role.url).port), stop };
}

/** A new account at `node` holding `roles`, and a bearer token of it. */
async function account(node: Node, username: string, roles: Role[]): Promise<string> {
  const user = { username, displayName: username, roles, sites: [DEFAULT_SITE] };
  await node.role.store.createUser({ ...user, password: randomBytes(16).toString('hex') }, 'test');
  return (await node.role.store.createApiToken(user, 'test', 1)).token;
}

/** `lantern audit verify` as an auditor runs it; resolves with its exit code and output. */
async function cliVerify(file: string, ...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(process.execPath, [bin, 'audit', 'verify', file, ...args], { env: { ...process.env, LANTERN_DATA_DIR: path.dirname(file) } });
    return { code: 0, out: stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, out: failed.stdout + failed.stderr };
  }
}

const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `lantern-witness-${name}-`));
let a: Node;
let b: Node;
let aToken: string;
/** A's account at B (role audit-witness): what A sends its heads with. */
let senderToken: string;
/** B's auditor: who reads what B witnessed. */
let auditorToken: string;
let aConfig: Partial<LanternConfig>;
let keyId: string;
let uploads = 0;

const aClient = () => apiClient(a.role.url, aToken);
const bClient = () => apiClient(b.role.url, auditorToken);
const upload = async () => aClient().stow([withFreshUids(fs.readFileSync(files.chestRaw), ++uploads)]);
const checkpoint = async () => (await aClient().json<SignedHead>('/v1/audit/checkpoint', { method: 'POST' })).body;
const health = async () => aClient().json<{ status: string; audit: { checkpoints: { witness?: { state: string; refused: boolean; delivered?: { seq: number }; pending?: { seq: number }; lastError?: string } } } }>('/health');
const witnessed = async () => (await bClient().json<{ heads: SignedHead[] }>(`/v1/audit/witness/${keyId}`)).body.heads;

beforeAll(async () => {
  b = await startNode(tmp('county'));
  senderToken = await account(b, 'clinic-a', ['audit-witness']);
  auditorToken = await account(b, 'county-auditor', ['admin']);
  aConfig = { auditWitness: { url: b.role.url, token: senderToken, maxLagSeconds: LAG_S } };
  a = await startNode(tmp('clinic'), aConfig);
  aToken = await account(a, 'tester', [...ROLES]);
  keyId = openAuditKey(path.join(a.dataDir, 'audit', 'signing-key.pem')).keyId;
});

afterAll(async () => {
  for (const node of [a, b]) {
    await node?.stop().catch(() => undefined);
    if (node) fs.rmSync(node.dataDir, { recursive: true, force: true });
  }
});

describe('configuring a witness', () => {
  it('when unset, then there is none; when the URL or the token comes alone, or the URL is plain http to another machine, then start is refused naming the setting', () => {
    const url = 'https://lantern.county.example';
    expect(loadConfig({}).auditWitness).toBeUndefined();
    expect(() => loadConfig({ LANTERN_AUDIT_WITNESS_URL: url })).toThrow(/LANTERN_AUDIT_WITNESS_URL and LANTERN_AUDIT_WITNESS_TOKEN must be set together/);
    expect(() => loadConfig({ LANTERN_AUDIT_WITNESS_TOKEN: 't' })).toThrow(/must be set together/);
    expect(() => loadConfig({ LANTERN_AUDIT_WITNESS_URL: 'http://lantern.county.example', LANTERN_AUDIT_WITNESS_TOKEN: 't' })).toThrow(/LANTERN_AUDIT_WITNESS_URL must be https/);
    expect(() => loadConfig({ LANTERN_AUDIT_WITNESS_URL: url, LANTERN_AUDIT_WITNESS_TOKEN: 't', LANTERN_AUDIT_WITNESS_LAG_S: '0' })).toThrow(/LANTERN_AUDIT_WITNESS_LAG_S/);
    expect(loadConfig({ LANTERN_AUDIT_WITNESS_URL: url, LANTERN_AUDIT_WITNESS_TOKEN: 't' }).auditWitness).toEqual({ url, token: 't', maxLagSeconds: 300 });
  });
});

describe('a remote witness of the audit chain', () => {
  let first: SignedHead;

  it('when A checkpoints its chain, then B holds the signed head, recorded in B\'s own chain as sent by A\'s account (which can do nothing else at B), and A\'s health says it was delivered', async () => {
    expect((await upload()).status).toBe(200);
    first = await checkpoint();
    const heads = await waitFor(async () => {
      const held = await witnessed().catch(() => []);
      return held.some((h) => h.seq === first.seq) ? held : undefined;
    }, 'B to hold A\'s head', 10_000);
    expect(heads.find((h) => h.seq === first.seq)).toMatchObject({ hash: first.hash, signature: first.signature, keyId });
    const records = await bClient().audit('?action=audit.head-witnessed');
    expect(records[0]).toMatchObject({ actor: 'clinic-a', entityType: 'audit-key', entityId: keyId, payload: { seq: first.seq, hash: first.hash } });
    expect((await bClient().audit('?action=audit.witness-read'))[0]).toMatchObject({ actor: 'county-auditor', entityId: keyId });
    // A's account at B hands in heads and nothing more: not B's audit trail, not its accounts.
    const sender = apiClient(b.role.url, senderToken);
    expect((await sender.json('/v1/audit')).status).toBe(403);
    expect((await sender.json('/v1/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(403);
    const answer = await waitFor(async () => {
      const h = await health();
      return h.body.audit.checkpoints.witness?.delivered?.seq === first.seq ? h : undefined;
    }, 'A\'s health to show the head delivered', 5000);
    expect(answer).toMatchObject({ status: 200, body: { audit: { checkpoints: { witness: { state: 'ok', refused: false } } } } });
    expect(await aClient().json('/v1/audit/verify?witness=true')).toMatchObject({ status: 200, body: { intact: true, witness: { heads: 1, latest: { seq: first.seq } } } });
    // B has no witness of its own to compare with.
    expect(await bClient().json('/v1/audit/verify?witness=true')).toMatchObject({ status: 503, body: { error: { code: 'AUDIT_UNAVAILABLE' } } });
  });

  it('when B is sent a forged head, a conflicting one, an older one or an unknown key without its public key, then each is refused with its own 4xx and B holds what it held', async () => {
    const before = await witnessed();
    const recordsBefore = (await bClient().audit('?action=audit.head-witnessed')).length;
    const stolenKey = openAuditKey(path.join(a.dataDir, 'audit', 'signing-key.pem'));
    const otherKey = openAuditKey(path.join(tmp('other'), 'key.pem'));
    const send = (head: Record<string, unknown>) => apiClient(b.role.url, senderToken).json<{ error: { code: string } }>('/v1/audit/witness', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(head),
    });
    const cases: [string, Record<string, unknown>, number, string][] = [
      ['another hash under the old signature', { ...first, hash: 'f'.repeat(64) }, 422, 'HEAD_SIGNATURE_INVALID'],
      ['signed by another key claiming A\'s id', { ...signHead(otherKey, { seq: first.seq + 1, hash: 'e'.repeat(64) }), keyId }, 422, 'HEAD_SIGNATURE_INVALID'],
      ['re-signed with A\'s key at a witnessed seq', signHead(stolenKey, { seq: first.seq, hash: 'e'.repeat(64) }), 409, 'AUDIT_HEAD_CONFLICT'],
      ['re-signed with A\'s key below the newest witnessed seq', signHead(stolenKey, { seq: first.seq - 1, hash: 'e'.repeat(64) }), 409, 'AUDIT_HEAD_ROLLBACK'],
      ['of a key B never saw, without its public key', signHead(otherKey, { seq: 1, hash: 'e'.repeat(64) }), 422, 'WITNESS_KEY_UNKNOWN'],
      ['with a malformed hash', { ...first, hash: 'not-a-hash' }, 422, 'VALIDATION_FAILED'],
    ];
    for (const [what, head, status, code] of cases) {
      const answer = await send(head);
      expect({ what, status: answer.status, code: answer.body.error?.code }).toEqual({ what, status, code });
    }
    expect(await witnessed()).toEqual(before);
    expect(await bClient().audit('?action=audit.head-witnessed')).toHaveLength(recordsBefore);
    // Nor can B's own code (or a slip at B's console) change what it witnessed.
    await expect(b.role.store.db.query('delete from audit_witness_heads')).rejects.toThrow(/append-only/);
    await expect(b.role.store.db.query(`update audit_witness_keys set public_key = 'x'`)).rejects.toThrow(/append-only/);
  });

  it('when B is down, then A keeps answering at once, its health turns degraded after the bound, and the newest head reaches B when B is back', async () => {
    const port = b.port;
    await b.stop();
    const started = Date.now();
    expect((await upload()).status).toBe(200);
    const second = await checkpoint();
    const answeredMs = Date.now() - started;
    expect(answeredMs).toBeLessThan(2000);
    expect((await health()).body.audit.checkpoints.witness).toMatchObject({ pending: { seq: second.seq } });
    expect(await aClient().json('/v1/audit/verify?witness=true')).toMatchObject({ status: 502, body: { error: { code: 'WITNESS_UNREACHABLE' } } });
    const degraded = await waitFor(async () => {
      const h = await health();
      return h.status === 503 ? h : undefined;
    }, 'A\'s health to turn degraded', (LAG_S + 5) * 1000);
    expect(degraded.body.audit.checkpoints.witness).toMatchObject({ state: 'degraded', refused: false, pending: { seq: second.seq }, lastError: expect.any(String) });
    console.log(`witness down: upload + checkpoint answered in ${answeredMs} ms; health degraded ${Date.now() - started} ms after (bound ${LAG_S} s)`);

    b = await startNode(b.dataDir, {}, port);
    const backAt = Date.now();
    await waitFor(async () => ((await witnessed().catch(() => [])).some((h) => h.seq === second.seq && h.hash === second.hash) ? true : undefined), 'the head to reach B', 70_000);
    const recovered = await waitFor(async () => {
      const h = await health();
      return h.status === 200 ? h : undefined;
    }, 'A\'s health to recover', 5000);
    expect(recovered.body.audit.checkpoints.witness).toMatchObject({ state: 'ok', delivered: { seq: second.seq } });
    console.log(`witness back: head delivered and health ok ${Date.now() - backAt} ms after B listened again`);
  });

  describe('when A\'s owner rewrites A\'s chain and re-signs its checkpoint file with A\'s own key', () => {
    let original: string;
    beforeAll(async () => {
      await a.stop();
      original = a.dataDir;
    });

    it.each([
      // From the first witnessed head on: the forged head lands below what B holds.
      ['truncated', 'AUDIT_HEAD_ROLLBACK', async (db: Parameters<typeof rehashFrom>[0]) => { await db.query('delete from audit where seq >= $1', [first.seq]); }],
      ['rewritten', 'AUDIT_HEAD_CONFLICT', async (db: Parameters<typeof rehashFrom>[0]) => {
        await db.query(`update audit set actor = 'mallory' where seq = 2`);
        await rehashFrom(db, 2);
      }],
    ] as const)('(%s), then verify passes on the box and without the witness, and fails with it; B refuses the forged head', async (reason, refusal, tamper) => {
      const dir = tmp(reason);
      fs.cpSync(original, dir, { recursive: true });
      const db = await openDatabase({ pgliteDir: path.join(dir, 'pglite') });
      await tamper(db);
      const forged = signHead(openAuditKey(path.join(dir, 'audit', 'signing-key.pem')), await auditHead(db));
      await db.close();
      fs.writeFileSync(path.join(dir, 'audit', 'checkpoints.jsonl'), `${JSON.stringify(forged)}\n`);

      const tampered = await startNode(dir, aConfig);
      try {
        const client = apiClient(tampered.role.url, aToken);
        expect((await client.json('/v1/audit/verify')).body).toMatchObject({ intact: true });
        const withWitness = await client.json('/v1/audit/verify?witness=true');
        expect(withWitness).toMatchObject({ status: 200, body: { intact: false, reason, witness: { url: b.role.url } } });

        // At start A offered its newest head to B, which refused it: A's health says so.
        const refused = await waitFor(async () => {
          const h = await client.json<{ audit: { checkpoints: { witness?: { refused: boolean; lastError?: string } } } }>('/health');
          return h.body.audit.checkpoints.witness?.refused ? h : undefined;
        }, 'B to refuse the forged head', 10_000);
        expect(refused.status).toBe(503);
        expect(refused.body.audit.checkpoints.witness?.lastError).toContain(refusal);

        const segment = (await client.json('/v1/audit/export')).body;
        const file = path.join(dir, 'segment.json');
        fs.writeFileSync(file, JSON.stringify(segment));
        const key = path.join(dir, 'audit', 'signing-key.pem.pub');
        const alone = await cliVerify(file, '--key', key);
        expect(alone).toMatchObject({ code: 0, out: expect.stringMatching(/^VERIFIED$/m) });
        const witnessedVerify = await cliVerify(file, '--key', key, '--witness', b.role.url, '--witness-token', auditorToken);
        expect(witnessedVerify.code).toBe(1);
        expect(witnessedVerify.out).toMatch(reason === 'truncated' ? /were removed from the chain/ : /differs from the head the witness received[^]*rewritten/);
        expect(witnessedVerify.out).toMatch(/compared with \d+ heads the witness received/);
        console.log(`${reason}: server verify with witness → ${JSON.stringify((withWitness.body as { detail?: string }).detail)}; CLI → ${witnessedVerify.out.split('\n').find((l) => l.startsWith('  - '))}`);
      } finally {
        await tampered.stop();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
