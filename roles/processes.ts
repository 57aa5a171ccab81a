import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type LanternConfig } from '../config.ts';
import { logger } from '../log.ts';
import { startPrivateRedis } from '../queue/redis-server.ts';
import { servePglite } from '../store/pglite-server.ts';
import { startApiRole } from './api.ts';
import { startWorkerRole } from './worker.ts';

const lanternBin = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'lantern.mjs');

/**
 * Runs `stop` once on SIGINT/SIGTERM, then exits; a second signal exits at once.
 * A process forked by `lantern start` ignores the terminal's Ctrl-C (its parent
 * decides when it stops) and stops if the parent goes away.
 */
export function onShutdown(stop: () => Promise<void>, deadlineMs: number): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error({ deadlineMs }, 'shutdown deadline passed; exiting anyway');
      process.exit(1);
    }, deadlineMs).unref();
    stop().then(() => process.exit(0), (error) => {
      logger.error({ err: error }, 'unclean shutdown');
      process.exit(1);
    });
  };
  const forked = typeof process.send === 'function';
  process.on('SIGINT', () => (forked ? undefined : handler('SIGINT')));
  process.on('SIGTERM', () => handler('SIGTERM'));
  if (forked) process.on('disconnect', () => handler('parent gone'));
}

/** Active jobs get the grace period; closing connections and the database gets the rest. */
const shutdownDeadline = (config: LanternConfig) => config.shutdownGraceSeconds * 1000 + 15_000;

function requireRedis(config: LanternConfig): LanternConfig & { redisUrl: string } {
  if (!config.redisUrl) throw new Error('REDIS_URL must be set for this role (only `lantern start` runs a private redis-server)');
  return { ...config, redisUrl: config.redisUrl };
}

export async function runApi(): Promise<void> {
  const config = requireRedis(loadConfig());
  const api = await startApiRole(config);
  onShutdown(api.stop, shutdownDeadline(config));
}

/** Serves the embedded PGlite to the other roles of `lantern start` (see store/pglite-server.ts). */
export async function runDatabase(): Promise<void> {
  const config = loadConfig();
  const server = await servePglite(path.join(config.dataDir, 'pglite'));
  process.send?.({ url: server.url });
  console.log(`lantern db: PGlite under ${path.join(config.dataDir, 'pglite')} at ${server.url}`);
  onShutdown(server.stop, shutdownDeadline(config));
}

export async function runWorker(): Promise<void> {
  const config = requireRedis(loadConfig());
  const worker = await startWorkerRole(config);
  process.send?.({ ready: true });
  onShutdown(worker.stop, shutdownDeadline(config));
}

/**
 * Forks `lantern <role>` and resolves with the first message it sends (its readiness);
 * rejects if it exits before that.
 */
function forkRole(role: string, env: NodeJS.ProcessEnv): { child: ChildProcess; ready: Promise<Record<string, unknown>> } {
  const child = fork(lanternBin, [role], { env: { ...process.env, ...env }, stdio: 'inherit' });
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    child.once('message', (message) => resolve(message as Record<string, unknown>));
    child.once('exit', (code) => reject(new Error(`lantern ${role} exited with code ${code} before it was ready`)));
  });
  return { child, ready };
}

/** Asks a child role to stop and waits for it, killing it if it outlives `graceMs`. */
function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), graceMs).unref();
  });
}

/**
 * Everything on one machine: a private redis-server unless REDIS_URL is set, a private
 * PGlite server process (`lantern db`, data under var/) unless DATABASE_URL is set, the
 * API role in this process and LANTERN_WORKERS worker processes, restarted if they die.
 * Ctrl-C stops workers first (they finish or hand back their jobs), then the API, then
 * the database and redis.
 */
export async function runAll(): Promise<void> {
  const base = loadConfig();
  const redis = base.redisUrl ? undefined : await startPrivateRedis(path.join(base.dataDir, 'redis'));
  const database = base.databaseUrl ? undefined : forkRole('db', { LANTERN_DATA_DIR: base.dataDir });
  const databaseUrl = base.databaseUrl ?? String((await database!.ready).url);
  // The private PGlite is one session: one pooled connection keeps transactions apart.
  const config = { ...base, redisUrl: base.redisUrl ?? redis!.url, databaseUrl, databasePoolMax: database ? 1 : base.databasePoolMax, databaseNamedStatements: Boolean(database) };
  let stopping = false;
  const workers = new Set<ChildProcess>();
  const workerEnv = { REDIS_URL: config.redisUrl, LANTERN_DATA_DIR: config.dataDir, LANTERN_BLOB_DIR: config.blobDir, LANTERN_MODELS_DIR: config.modelsDir };

  const spawnWorker = async () => {
    const { child, ready } = forkRole('worker', workerEnv);
    workers.add(child);
    child.once('exit', (code, signal) => {
      workers.delete(child);
      if (stopping) return;
      logger.warn({ code, signal }, 'worker process exited; starting another');
      setTimeout(spawnWorker, 1000);
    });
    await ready;
  };

  const api = await startApiRole(config);
  await Promise.all(Array.from({ length: config.workers }, spawnWorker));
  console.log(`\nLantern is running: open ${api.url}\n  redis ${redis ? `${redis.url} (private, AOF under ${path.join(config.dataDir, 'redis')})` : '(REDIS_URL)'}` +
    `\n  database ${database ? `PGlite under ${path.join(config.dataDir, 'pglite')} (private server process)` : '(DATABASE_URL)'}\n  workers ${config.workers}\nPress Ctrl-C to stop.\n`);

  onShutdown(async () => {
    stopping = true;
    await Promise.all([...workers].map((child) => stopChild(child, (config.shutdownGraceSeconds + 5) * 1000)));
    await api.stop();
    if (database) await stopChild(database.child, 10_000);
    await redis?.stop();
  }, shutdownDeadline(config) + 20_000);
}
