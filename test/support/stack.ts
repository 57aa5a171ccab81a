import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../config.ts';
import { privatePassword, startPrivateRedis, type PrivateRedis } from '../../queue/redis-server.ts';
import { copyPgliteTemplate } from './pglite-template.ts';
import { signInAsFirstAdmin, type SignedIn } from './sign-in.ts';

export interface Stack extends SignedIn {
  baseUrl: string;
  redisUrl: string;
  dataDir: string;
  /** The `lantern start` process (its process group too, when started with `group`). */
  process: ChildProcess;
  /** The redis-server this test process runs for the stack (absent with `privateRedis`): a test may stop it. */
  testRedis?: PrivateRedis;
  /** Environment that makes another `lantern worker` join this stack. */
  env: NodeJS.ProcessEnv;
  /** Output of the `lantern start` process so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

export interface StackOptions {
  workers?: number;
  env?: NodeJS.ProcessEnv;
  /** Reuse this data folder (PGlite, redis AOF, blobs) and leave it in place on stop: a restart. */
  dataDir?: string;
  /** Let `lantern start` run its own private redis-server (found in its banner), as `npm start` does. */
  privateRedis?: boolean;
  /** Run `lantern start` as the leader of its own process group, so a test can signal the group as systemd or Docker do. */
  group?: boolean;
  /** Let `lantern start` create its PGlite database in the empty data folder, as a first install does, instead of starting from a copy of the migrated template. */
  freshDatabase?: boolean;
}

/** A `lantern start` on its way up: what exists before its banner. */
export interface Launch {
  process: ChildProcess;
  dataDir: string;
  env: NodeJS.ProcessEnv;
  output(): string;
  /** Resolves with exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the API's URL once the banner is printed; rejects if it exits first or after 90 s. */
  started: Promise<string>;
  /** The test-owned redis-server, unless `privateRedis`. */
  redis?: PrivateRedis;
}

const lanternBin = path.join(repoRoot, 'bin', 'lantern.mjs');

/** Spawns `lantern <role>` as a user would, with the given environment. */
export function spawnLantern(role: string, env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [lanternBin, role], { env, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Starts `lantern start` and returns at once (a test may signal it during start-up). */
export async function launchStack(options: StackOptions = {}): Promise<Launch> {
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-test-'));
  // Creating the database (initdb in WebAssembly) is most of a start-up; a new folder gets a copy of one already migrated.
  if (!options.dataDir && !options.freshDatabase && !options.env?.DATABASE_URL) await copyPgliteTemplate(path.join(dataDir, 'pglite'));
  const redis = options.privateRedis ? undefined : await startPrivateRedis(path.join(dataDir, 'redis'));
  // The embedded PGlite unless the caller names a database: an ambient DATABASE_URL or REDIS_URL never leaks in.
  const { DATABASE_URL: _ambient, REDIS_URL: _ambientRedis, ...inherited } = process.env;
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    PORT: '0',
    ...(redis && { REDIS_URL: redis.url }),
    LANTERN_DATA_DIR: dataDir,
    LANTERN_WORKERS: String(options.workers ?? 1),
    LOG_LEVEL: 'warn',
    ...options.env,
  };
  const child = spawn(process.execPath, [lanternBin, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: options.group ?? false });
  let output = '';
  child.stdout!.on('data', (chunk) => { output += chunk; });
  child.stderr!.on('data', (chunk) => { output += chunk; });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const started = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lantern start did not come up in 90 s:\n${output}`)), 90_000);
    const check = () => {
      const match = /open (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`lantern start exited with ${code}:\n${output}`));
    });
  });
  started.catch(() => undefined);
  return { process: child, dataDir, env, output: () => output, exited, started, redis };
}

/**
 * The real thing, as `npm start` runs it: `lantern start` in a child process with a
 * private redis-server (started here so tests know its URL, unless `privateRedis`),
 * PGlite in a temp folder, the API on a free port and `workers` worker processes.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  return stackOf(await launchStack(options), options);
}

/** The stack a launch becomes once its banner is printed; a launch that never comes up leaves nothing behind. */
export async function stackOf(launch: Launch, options: StackOptions = {}): Promise<Stack> {
  const { process: child, dataDir, redis } = launch;
  let baseUrl: string;
  try {
    baseUrl = await launch.started;
  } catch (error) {
    // A stack that never came up must not leave its redis-server or data behind.
    child.kill('SIGKILL');
    await launch.exited;
    await redis?.stop();
    if (!options.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }

  return {
    ...(await signInAsFirstAdmin(baseUrl, dataDir)),
    baseUrl,
    redisUrl: redis?.url ?? privateRedisUrl(launch.output(), dataDir),
    dataDir,
    process: child,
    testRedis: redis,
    env: launch.env,
    output: launch.output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await launch.exited;
        clearTimeout(timer);
      }
      await redis?.stop();
      if (!options.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The private redis-server's URL: its address from the banner, its password from the file the banner names (it prints no secret). */
function privateRedisUrl(output: string, dataDir: string): string {
  const url = new URL(/redis (redis:\/\/\S+) \(private/.exec(output)![1]);
  url.password = privatePassword(path.join(dataDir, 'redis'));
  return url.toString().replace(/\/$/, '');
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
