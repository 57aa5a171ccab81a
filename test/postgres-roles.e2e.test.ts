/**
 * The scale-out story: `lantern api` and two `lantern worker` processes as separate
 * roles against one Redis and one PostgreSQL (a fresh schema of LANTERN_TEST_DATABASE_URL),
 * exactly as they would run on separate machines. Skipped when no PostgreSQL is configured.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateRedis, type PrivateRedis } from '../queue/redis-server.ts';
import { apiClient } from './support/api-client.ts';
import { signInAsFirstAdmin, type SignedIn } from './support/sign-in.ts';
import { files } from './support/shared-data.ts';
import { spawnLantern, waitFor } from './support/stack.ts';

const postgresUrl = process.env.LANTERN_TEST_DATABASE_URL;

describe.skipIf(!postgresUrl)('separate API and worker roles on PostgreSQL', () => {
  const schema = `e2e_${randomUUID().replace(/-/g, '')}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-roles-'));
  const children: ChildProcess[] = [];
  let redis: PrivateRedis;
  let baseUrl: string;
  let signedIn: SignedIn;
  let admin: pg.Client;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    redis = await startPrivateRedis(path.join(dataDir, 'redis'));
    const url = new URL(postgresUrl!);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const env = { ...process.env, REDIS_URL: redis.url, DATABASE_URL: url.toString(), LANTERN_DATA_DIR: dataDir, LANTERN_BLOB_DIR: path.join(dataDir, 'blobs'), PORT: '0', LOG_LEVEL: 'info' };
    const start = (role: string, ready: RegExp) => {
      const child = spawnLantern(role, env);
      children.push(child);
      let log = '';
      child.stderr!.on('data', (chunk) => { log += chunk; });
      return waitFor(async () => ready.exec(log) ?? undefined, `lantern ${role} to start`, 90_000);
    };
    const [listening] = await Promise.all([
      start('api', /"url":"(http:[^"]+)".*"msg":"api listening"/),
      start('worker', /worker ready/),
      start('worker', /worker ready/),
    ]);
    baseUrl = listening[1];
    signedIn = await signInAsFirstAdmin(baseUrl, dataDir);
  });
  afterAll(async () => {
    await Promise.all(children.map((child) => new Promise((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGTERM');
    })));
    await redis?.stop();
    await admin?.query(`drop schema if exists ${schema} cascade`);
    await admin?.end();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('when studies arrive, then findings, reviews and the audit chain live in PostgreSQL', async () => {
    const api = apiClient(baseUrl, signedIn.token);
    const { body } = await api.stow([files.chestJ2k, files.chestRaw]);
    const rows = await Promise.all(body.stored!.map((s) => api.settled(s.studyInstanceUid)));
    // Each adult film: the adult model's answer and the paediatric model's "not applicable".
    expect(rows.map((r) => r.findings.map((f) => f.probability === null))).toEqual([[false, true], [false, true]]);
    // Each model's AI results SR is written in its result job, just after the findings the worklist shows.
    for (const stored of body.stored!) {
      await waitFor(async () => ((await api.study(stored.studyInstanceUid)).body.instances.filter((i) => !i.image).length === 2 ? true : undefined), 'both models\' SRs');
    }
    const saved = await api.review(rows[0].findings[0].id, { decision: 'accept' });
    expect(saved.status).toBe(201);

    const findings = await admin.query(`select count(*)::int as n from ${schema}.findings`);
    expect(findings.rows[0].n).toBe(4);
    const actions = await admin.query(`select action from ${schema}.audit order by seq`);
    // The first admin was created, signed in and took the test's token: identity is audited in the same chain.
    // Received: the two films, the four models' SRs on them and the accept's SR (pipeline/ai-results-sr.ts).
    // The first start recorded each read-assist model's deployment state (pipeline/model-deployments.ts).
    expect(actions.rows.map((r) => r.action).sort()).toEqual([
      'finding.accept', ...Array(4).fill('finding.created'), ...Array(7).fill('instance.received'), ...Array(3).fill('model.deployment-changed'),
      'session.started', 'token.created', 'user.created',
    ]);
    expect(await api.verify()).toMatchObject({ intact: true, checked: 18 });
  });
});
