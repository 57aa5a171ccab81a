/**
 * Supervision and faults, with real processes: `lantern start` as `npm start` runs it, its
 * children killed, its redis killed and wiped, the whole process group signalled as
 * systemd or Docker do, during start-up and under load. After each, exact counts: every
 * accepted film is one instance, two findings (one per CR model) and one audit record
 * each — nothing lost, nothing duplicated — and nothing is left running.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDicom } from '../dicom/parse.ts';
import { READ_ASSIST_QUEUE } from '../queue/jobs.ts';
import { startPrivateRedis } from '../queue/redis-server.ts';
import { printableUrl } from '../roles/banner.ts';
import { apiClient } from './support/api-client.ts';
import { withFreshUids } from './support/dicom-builder.ts';
import { files } from './support/shared-data.ts';
import { launchStack, spawnLantern, stackOf, startStack, waitFor, type Stack } from './support/stack.ts';

const MODELS_PER_CR = 2;
/** Jobs queued per chest film of these: the adult model's; the children's model is answered at ingest (no age recorded, pipeline/ingest.ts). */
const JOBS_PER_CR = 1;
let filmNumber = 0;
/** A real chest CR under fresh UIDs: a new study each time. */
function film(): { bytes: Uint8Array; studyInstanceUid: string } {
  const bytes = withFreshUids(fs.readFileSync(files.chestRaw), 7000 + ++filmNumber);
  return { bytes, studyInstanceUid: parseDicom(bytes).meta.studyInstanceUid };
}

/** A running stack and the first admin's token: who the test acts as. */
type Target = Pick<Stack, 'baseUrl' | 'token'>;

/** Uploads one film; false when the service did not accept it (a client would send it again). */
async function upload(target: Target, bytes: Uint8Array): Promise<boolean> {
  try {
    const { status, body } = await apiClient(target.baseUrl, target.token).stow([bytes]);
    return status === 200 && body.stored?.length === 1;
  } catch {
    return false;
  }
}

/** Every study read exactly once by each model: the counts the issue asks for. */
async function expectExactly(target: Target, studies: string[]) {
  const api = apiClient(target.baseUrl, target.token);
  for (const uid of studies) expect((await api.settled(uid, 180_000)).status).toBe('ready');
  const findings = (await Promise.all(studies.map(async (uid) => (await api.study(uid)).body.findings))).flat();
  const audit = await api.audit('?limit=1000');
  // The AI results SRs Lantern adds are received instances too, by the model (pipeline/ai-results-sr.ts): the uploads are the rest.
  const count = (action: string) => audit.filter((a) => a.action === action && !(action === 'instance.received' && a.actor.startsWith('model:'))).length;
  expect(await api.worklist()).toHaveLength(studies.length);
  expect(findings).toHaveLength(MODELS_PER_CR * studies.length);
  expect(new Set(findings.map((f) => f.id)).size).toBe(findings.length);
  expect({ received: count('instance.received'), findings: count('finding.created'), failed: count('inference.failed') })
    .toEqual({ received: studies.length, findings: MODELS_PER_CR * studies.length, failed: 0 });
  expect(await api.verify()).toMatchObject({ intact: true });
}

/** Child processes of `pid`, with their command lines. */
function childrenOf(pid: number): { pid: number; cmdline: string }[] {
  const children: { pid: number; cmdline: string }[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== pid) continue;
      children.push({ pid: Number(entry), cmdline: fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ') });
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

const alive = (pid: number) => fs.existsSync(`/proc/${pid}`) && !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
/** The redis-server `lantern start` runs for `dataDir`, by its pid file. */
const redisPid = (dataDir: string) => {
  try {
    return Number(fs.readFileSync(path.join(dataDir, 'redis', 'redis.pid'), 'utf8'));
  } catch {
    return undefined;
  }
};
/** Every redis-server appending to `dataDir`'s AOF (its working folder). */
const redisServersIn = (dataDir: string) => fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e)).filter((e) => {
  try {
    return fs.readlinkSync(`/proc/${e}/cwd`) === path.join(dataDir, 'redis') && fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').startsWith('redis-server');
  } catch {
    return false;
  }
});

async function health(baseUrl: string): Promise<{ status: number; ms: number; body: { redis: string; database: string } }> {
  const started = performance.now();
  const response = await fetch(new URL('/health', baseUrl), { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: await response.json() as { redis: string; database: string }, ms: performance.now() - started };
}

describe('a child that dies', () => {
  let stack: Stack | undefined;
  afterAll(async () => stack?.stop());

  it('when a worker is killed during start-up, then the supervisor and the rest keep running, another worker takes its place, and every film is read once', async () => {
    const launch = await launchStack({ workers: 2 });
    // Workers load and warm every model for seconds: a worker seen at all is still starting.
    const doomed = await waitFor(async () => childrenOf(launch.process.pid!).find((c) => c.cmdline.includes(' worker')), 'a worker process', 60_000);
    process.kill(doomed.pid, 'SIGKILL');
    stack = await stackOf(launch);
    const { baseUrl } = stack;
    expect(launch.output()).not.toMatch(/unhandled|exited with code/i);
    const films = [film(), film(), film(), film()];
    for (const f of films) expect(await upload(stack!, f.bytes)).toBe(true);
    await expectExactly(stack!, films.map((f) => f.studyInstanceUid));
    const workers = childrenOf(launch.process.pid!).filter((c) => c.cmdline.includes(' worker'));
    expect(workers).toHaveLength(2);
    expect(workers.map((w) => w.pid)).not.toContain(doomed.pid);
  }, 300_000);

  it('when the database process is killed, then health says so at once, it is restarted on the same port, and films before and after are each read once', async () => {
    const { baseUrl } = stack!;
    const before = [film(), film()];
    for (const f of before) expect(await upload(stack!, f.bytes)).toBe(true);
    const database = childrenOf(stack!.process.pid!).find((c) => c.cmdline.includes(' db'))!;
    process.kill(database.pid, 'SIGKILL');
    await waitFor(async () => (alive(database.pid) ? undefined : true), 'the database process to die');
    const down = await health(baseUrl);
    expect(down.status).toBe(503);
    expect(down.body.database).toMatch(/^error/);
    expect(down.ms).toBeLessThan(1500);
    await waitFor(async () => ((await health(baseUrl)).status === 200 ? true : undefined), 'health to be ok again', 60_000);
    expect(childrenOf(stack!.process.pid!).filter((c) => c.cmdline.includes(' db'))).toHaveLength(1);
    const after = [film(), film()];
    for (const f of after) expect(await upload(stack!, f.bytes)).toBe(true);
    const all = await apiClient(stack!.baseUrl, stack!.token).worklist();
    await expectExactly(stack!, all.map((r) => r.studyInstanceUid));
    expect(all).toHaveLength(4 + before.length + after.length);
  }, 300_000);
});

describe('redis that dies', () => {
  let stack: Stack | undefined;
  afterAll(async () => stack?.stop());

  it('when the private redis-server is killed under load, then health says so at once, it is restarted on the same port with the same AOF, and every film is read once', async () => {
    stack = await startStack({ privateRedis: true, workers: 1 });
    const { baseUrl, dataDir } = stack;
    const films = Array.from({ length: 6 }, film);
    const first = redisPid(dataDir)!;
    // Uploads and reads in flight when redis dies: the second upload's answer is the cue.
    const uploads = films.map((f, i) => new Promise((resolve) => setTimeout(resolve, i * 150)).then(() => upload(stack!, f.bytes)));
    await uploads[1];
    process.kill(first, 'SIGKILL');
    await waitFor(async () => (alive(first) ? undefined : true), 'redis to die');
    const down = await health(baseUrl);
    expect(down.status).toBe(503);
    expect(down.body.redis).toMatch(/^error/);
    expect(down.ms).toBeLessThan(1500);
    await waitFor(async () => ((await health(baseUrl)).status === 200 ? true : undefined), 'health to be ok again', 60_000);
    const second = redisPid(dataDir)!;
    expect(second).not.toBe(first);
    expect(redisServersIn(dataDir)).toEqual([String(second)]);
    // The banner (and the database process's line) name where the passwords are, never the passwords.
    expect(stack.output()).toContain(`redis ${printableUrl(stack.redisUrl)} (private; password in ${path.join(dataDir, 'redis', 'lantern-redis.conf')}`);
    expect(stack.output()).not.toContain(new URL(stack.redisUrl).password);
    expect(stack.output()).not.toContain(fs.readFileSync(path.join(dataDir, 'pglite', 'lantern-password'), 'utf8').trim());
    // A client sends again what was not accepted; an accepted one sent again is a duplicate, not a second instance.
    const accepted = await Promise.all(uploads);
    for (const [i, f] of films.entries()) if (!accepted[i]) expect(await upload(stack!, f.bytes)).toBe(true);
    await expectExactly(stack!, films.map((f) => f.studyInstanceUid));
  }, 300_000);
});

describe('work stored but not queued', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-reconcile-'));
  let stack: Stack | undefined;
  afterAll(async () => {
    await stack?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const waitingJobs = async (redisUrl: string) => {
    const queue = new Queue(READ_ASSIST_QUEUE, { connection: { url: redisUrl }, prefix: 'lantern' });
    const counts = await queue.getJobCounts('waiting', 'prioritized');
    await queue.close();
    return counts.waiting + counts.prioritized;
  };
  const wipeRedis = () => fs.rmSync(path.join(dataDir, 'redis', 'appendonlydir'), { recursive: true, force: true });
  const films = [film(), film(), film(), film()];

  it('when Redis lost the jobs of stored films, then the API queues them again at start', async () => {
    stack = await startStack({ dataDir, workers: 0 });
    for (const f of films.slice(0, 2)) expect(await upload(stack!, f.bytes)).toBe(true);
    expect(await waitingJobs(stack.redisUrl)).toBe(2 * JOBS_PER_CR);
    await stack.stop();
    wipeRedis();
    stack = await startStack({ dataDir, workers: 0 });
    await waitFor(async () => (await waitingJobs(stack!.redisUrl) === 2 * JOBS_PER_CR ? true : undefined), 'the jobs to be queued again', 30_000);
  }, 300_000);

  it('when Redis comes back empty while the API runs, then the API queues the stored films again, and a worker reads each once', async () => {
    for (const f of films.slice(2)) expect(await upload(stack!, f.bytes)).toBe(true);
    expect(await waitingJobs(stack!.redisUrl)).toBe(4 * JOBS_PER_CR);
    // The stack's redis is this test's: stop it, lose its data, start an empty one where it was.
    const port = Number(new URL(stack!.redisUrl).port);
    await stack!.testRedis!.stop();
    wipeRedis();
    const fresh = await startPrivateRedis(path.join(dataDir, 'redis'), { port });
    try {
      await waitFor(async () => (await waitingJobs(fresh.url) === 4 * JOBS_PER_CR ? true : undefined), 'the jobs to be queued again', 30_000);
      const worker = spawnLantern('worker', stack!.env);
      try {
        await expectExactly(stack!, films.map((f) => f.studyInstanceUid));
      } finally {
        worker.kill('SIGTERM');
      }
    } finally {
      await stack!.stop();
      stack = undefined;
      await fresh.stop();
    }
  }, 300_000);
});

describe('SIGTERM and SIGINT to the process group', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-signals-'));
  let stack: Stack | undefined;
  afterAll(async () => {
    await stack?.stop();
    for (const pid of redisServersIn(dataDir)) process.kill(Number(pid), 'SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** Signals the group once `moment` holds, then expects a clean exit with nothing of the stack left running. */
  async function signalDuringStartUp(signal: NodeJS.Signals, moment: (children: { cmdline: string }[]) => boolean) {
    const launch = await launchStack({ dataDir, privateRedis: true, group: true, workers: 1 });
    const seen = new Set<number>();
    await waitFor(async () => {
      const children = childrenOf(launch.process.pid!);
      for (const c of children) seen.add(c.pid);
      return moment(children) ? true : undefined;
    }, 'the moment to signal', 60_000);
    process.kill(-launch.process.pid!, signal);
    const { code } = await launch.exited;
    expect(code, launch.output()).toBe(0);
    expect(launch.output()).not.toMatch(/unhandled|unclean shutdown/i);
    expect([...seen].filter(alive)).toEqual([]);
    expect(redisServersIn(dataDir)).toEqual([]);
  }

  it('when the group gets SIGTERM while redis and the database are starting, then everything stops, nothing is orphaned', async () => {
    await signalDuringStartUp('SIGTERM', () => redisPid(dataDir) !== undefined);
  }, 180_000);

  it('when the group gets SIGINT (Ctrl-C) while workers load their models, then everything stops, nothing is orphaned', async () => {
    await signalDuringStartUp('SIGINT', (children) => children.some((c) => c.cmdline.includes(' worker')));
  }, 180_000);

  it('when the group gets SIGTERM under load, then it stops in order with nothing orphaned; after a restart every film is read once', async () => {
    const launch = await launchStack({ dataDir, privateRedis: true, group: true, workers: 1 });
    stack = await stackOf(launch, { dataDir });
    const films = Array.from({ length: 6 }, film);
    const uploads = films.map((f, i) => new Promise((resolve) => setTimeout(resolve, i * 150)).then(() => upload(stack!, f.bytes)));
    await uploads[2];
    const children = childrenOf(launch.process.pid!).map((c) => c.pid);
    process.kill(-launch.process.pid!, 'SIGTERM');
    const accepted = await Promise.all(uploads);
    const { code } = await launch.exited;
    expect(code, launch.output()).toBe(0);
    expect(launch.output()).not.toMatch(/unhandled|unclean shutdown/i);
    expect(children.filter(alive)).toEqual([]);
    expect(redisServersIn(dataDir)).toEqual([]);

    stack = await startStack({ dataDir, privateRedis: true, workers: 1 });
    for (const [i, f] of films.entries()) if (!accepted[i]) expect(await upload(stack!, f.bytes)).toBe(true);
    await expectExactly(stack!, films.map((f) => f.studyInstanceUid));
  }, 300_000);

  it('when lantern start is SIGKILLed, its orphaned redis-server is stopped by the next start, which shares no AOF with it and loses nothing', async () => {
    const orphan = redisPid(dataDir)!;
    stack!.process.kill('SIGKILL');
    await waitFor(async () => (stack!.process.exitCode !== null || stack!.process.signalCode !== null ? true : undefined), 'lantern start to die');
    expect(alive(orphan)).toBe(true);
    stack = await startStack({ dataDir, privateRedis: true, workers: 1 });
    expect(alive(orphan)).toBe(false);
    expect(redisServersIn(dataDir)).toEqual([String(redisPid(dataDir))]);
    const all = await apiClient(stack.baseUrl, stack.token).worklist();
    expect(all).toHaveLength(6);
    await expectExactly(stack!, all.map((r) => r.studyInstanceUid));
  }, 300_000);

  it('when a second lantern start is pointed at a data folder in use, then it refuses, naming the first, and the first keeps running', async () => {
    const second = await launchStack({ dataDir, privateRedis: true, workers: 0 });
    const { code } = await second.exited;
    expect(code).toBe(1);
    expect(second.output()).toContain(`another lantern start (pid ${stack!.process.pid}) is using ${dataDir}`);
    expect(redisServersIn(dataDir)).toEqual([String(redisPid(dataDir))]);
    expect((await health(stack!.baseUrl)).status).toBe(200);
  }, 120_000);
});
