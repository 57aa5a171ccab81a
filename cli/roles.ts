import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApiRole } from '../api/server.ts';
import { loadConfig, type LanternConfig } from '../config.ts';
import { logger } from '../log.ts';
import { startPrivateRedis } from '../queue/redis-server.ts';
import { startWorkerRole } from '../queue/worker-role.ts';

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

export async function runWorker(): Promise<void> {
  const config = requireRedis(loadConfig());
  const worker = await startWorkerRole(config);
  process.send?.('ready');
  onShutdown(worker.stop, shutdownDeadline(config));
}

/**
 * Everything on one machine: a private redis-server unless REDIS_URL is set, the API
 * role in this process (PGlite under var/ unless DATABASE_URL is set) and
 * LANTERN_WORKERS worker processes, restarted if they die. Ctrl-C stops workers first
 * (they finish or hand back their jobs), then the API, then redis.
 */
export async function runAll(): Promise<void> {
  const base = loadConfig();
  const redis = base.redisUrl ? undefined : await startPrivateRedis(path.join(base.dataDir, 'redis'));
  const config = { ...base, redisUrl: base.redisUrl ?? redis!.url };
  let stopping = false;
  const workers = new Set<ChildProcess>();

  const spawnWorker = () => {
    const child = fork(lanternBin, ['worker'], {
      env: { ...process.env, REDIS_URL: config.redisUrl, LANTERN_DATA_DIR: config.dataDir, LANTERN_BLOB_DIR: config.blobDir, LANTERN_MODELS_DIR: config.modelsDir },
      stdio: 'inherit',
    });
    workers.add(child);
    child.once('exit', (code, signal) => {
      workers.delete(child);
      if (stopping) return;
      logger.warn({ code, signal }, 'worker process exited; starting another');
      setTimeout(spawnWorker, 1000);
    });
    return new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`worker exited with code ${code} before it was ready`)));
    });
  };

  const api = await startApiRole(config);
  await Promise.all(Array.from({ length: config.workers }, spawnWorker));
  console.log(`\nLantern is running: open ${api.url}\n  redis ${redis ? `${redis.url} (private, AOF under ${path.join(config.dataDir, 'redis')})` : '(REDIS_URL)'}` +
    `\n  database ${config.databaseUrl ? '(DATABASE_URL)' : `PGlite under ${path.join(config.dataDir, 'pglite')}`}\n  workers ${config.workers}\nPress Ctrl-C to stop.\n`);

  onShutdown(async () => {
    stopping = true;
    await Promise.all([...workers].map((child) => new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), (config.shutdownGraceSeconds + 5) * 1000).unref();
    })));
    await api.stop();
    await redis?.stop();
  }, shutdownDeadline(config) + 10_000);
}
