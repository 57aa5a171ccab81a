import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../config.ts';
import { startPrivateRedis, type PrivateRedis } from '../../queue/redis-server.ts';

export interface Stack {
  baseUrl: string;
  redisUrl: string;
  dataDir: string;
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
}

const lanternBin = path.join(repoRoot, 'bin', 'lantern.mjs');

/** Spawns `lantern <role>` as a user would, with the given environment. */
export function spawnLantern(role: string, env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [lanternBin, role], { env, stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * The real thing, as `npm start` runs it: `lantern start` in a child process with a
 * private redis-server (started here so tests know its URL), PGlite in a temp folder,
 * the API on a free port and `workers` worker processes.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-test-'));
  const redis: PrivateRedis = await startPrivateRedis(path.join(dataDir, 'redis'));
  // The embedded PGlite unless the caller names a database: an ambient DATABASE_URL never leaks in.
  const { DATABASE_URL: _ambient, ...inherited } = process.env;
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    PORT: '0',
    REDIS_URL: redis.url,
    LANTERN_DATA_DIR: dataDir,
    LANTERN_WORKERS: String(options.workers ?? 1),
    LOG_LEVEL: 'warn',
    ...options.env,
  };
  const child = spawnLantern('start', env);
  let output = '';
  child.stdout!.on('data', (chunk) => { output += chunk; });
  child.stderr!.on('data', (chunk) => { output += chunk; });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

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
  let baseUrl: string;
  try {
    baseUrl = await started;
  } catch (error) {
    // A stack that never came up must not leave its redis-server or data behind.
    child.kill('SIGKILL');
    await redis.stop();
    if (!options.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }

  return {
    baseUrl,
    redisUrl: redis.url,
    dataDir,
    env,
    output: () => output,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(timer);
      }
      await redis.stop();
      if (!options.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
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
