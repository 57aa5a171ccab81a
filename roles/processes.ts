import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, type LanternConfig } from '../config.ts';
import { logger } from '../log.ts';
import { startPrivateRedis } from '../queue/redis-server.ts';
import { servePglite } from '../store/pglite-server.ts';
import { pglitePasswordFile } from '../store/pglite-auth.ts';
import { startApiRole, type ApiRole } from './api.ts';
import { printableUrl, startBanner, type StartFacts } from './banner.ts';
import { firstAdminPasswordFile } from './first-admin.ts';
import { forkRole, supervise, type Supervised } from './supervisor.ts';
import { startWorkerRole } from './worker.ts';

export interface Shutdown {
  /** What to run on the first stop request; one that came earlier waits for it. */
  stopWith(stop: () => Promise<void>): void;
}

/**
 * Installed before a role starts, so that a stop request during start-up is not lost:
 * it runs `stop` (once the role has handed it over) exactly once, then exits; a second
 * signal exits at once. A process forked by `lantern start` ignores the terminal's
 * Ctrl-C, stops when its parent asks (IPC `{ stop: true }`) or goes away, and with
 * `parentDecides` also ignores SIGTERM: a signal to the whole process group must not
 * stop the database before the API that writes to it.
 */
export function onShutdown(deadlineMs: number, options: { parentDecides?: boolean } = {}): Shutdown {
  let handOver: (stop: () => Promise<void>) => void = () => undefined;
  const stopFn = new Promise<() => Promise<void>>((resolve) => { handOver = resolve; });
  let stopping = false;
  const handler = (reason: string, isSignal: boolean) => {
    if (stopping) {
      if (isSignal) process.exit(1);
      return;
    }
    stopping = true;
    logger.info({ reason }, 'shutting down');
    setTimeout(() => {
      logger.error({ deadlineMs }, 'shutdown deadline passed; exiting anyway');
      process.exit(1);
    }, deadlineMs).unref();
    stopFn.then((stop) => stop()).then(() => process.exit(0), (error) => {
      logger.error({ err: error }, 'unclean shutdown');
      process.exit(1);
    });
  };
  const forked = typeof process.send === 'function';
  process.on('SIGINT', () => (forked ? undefined : handler('SIGINT', true)));
  process.on('SIGTERM', () => (forked && options.parentDecides ? undefined : handler('SIGTERM', true)));
  if (forked) {
    process.on('message', (message: { stop?: boolean } | null) => (message?.stop ? handler('asked by lantern start', false) : undefined));
    process.on('disconnect', () => handler('parent gone', false));
  }
  return { stopWith: (stop) => handOver(stop) };
}

/** Active jobs get the grace period; closing connections and the database gets the rest. */
const shutdownDeadline = (config: LanternConfig) => config.shutdownGraceSeconds * 1000 + 15_000;

function requireRedis(config: LanternConfig): LanternConfig & { redisUrl: string } {
  if (!config.redisUrl) throw new Error('REDIS_URL must be set for this role (only `lantern start` runs a private redis-server)');
  return { ...config, redisUrl: config.redisUrl };
}

export async function runApi(): Promise<void> {
  const config = requireRedis(loadConfig());
  const shutdown = onShutdown(shutdownDeadline(config));
  const api = await startApiRole(config);
  shutdown.stopWith(api.stop);
}

/** Serves the embedded PGlite to the other roles of `lantern start` (see store/pglite-server.ts), on `port` when restarted. */
export async function runDatabase(options: { port?: string } = {}): Promise<void> {
  const config = loadConfig();
  const shutdown = onShutdown(shutdownDeadline(config), { parentDecides: true });
  const server = await servePglite(path.join(config.dataDir, 'pglite'), Number(options.port ?? 0));
  shutdown.stopWith(server.stop);
  process.send?.({ ready: true, url: server.url });
  const dir = path.join(config.dataDir, 'pglite');
  console.log(`lantern db: PGlite under ${dir} at ${printableUrl(server.url)} (password in ${pglitePasswordFile(dir)})`);
}

export async function runWorker(): Promise<void> {
  const config = requireRedis(loadConfig());
  const shutdown = onShutdown(shutdownDeadline(config));
  const worker = await startWorkerRole(config);
  shutdown.stopWith(worker.stop);
  process.send?.({ ready: true });
}

/** What `lantern start` runs, filled in as each part comes up. */
interface Parts {
  redis?: Supervised;
  database?: Supervised;
  api?: ApiRole;
  workers: Supervised[];
}

/**
 * Everything on one machine: a private redis-server unless REDIS_URL is set, a private
 * PGlite server process (`lantern db`, data under var/) unless DATABASE_URL is set, the
 * API role in this process and LANTERN_WORKERS worker processes. Each child is restarted
 * with backoff when it dies (redis and the database on the same port, so their clients
 * reconnect); one that fails to start never takes down the rest. SIGINT/SIGTERM, at any
 * moment, including during start-up, stop the parts in order: the API stops taking
 * requests, workers finish (or hand back) their jobs, the results they handed back are
 * persisted, then the database and redis.
 */
export async function runAll(): Promise<void> {
  const base = loadConfig();
  const shutdown = onShutdown(shutdownDeadline(base) + 20_000);
  const releaseDataDir = base.redisUrl && base.databaseUrl ? () => undefined : claimDataDir(base.dataDir);
  const parts: Parts = { workers: [] };
  let stopping = false;
  const started = startParts(base, parts, () => stopping);
  shutdown.stopWith(async () => {
    stopping = true;
    await started.catch(() => undefined);
    await stopParts(parts);
    releaseDataDir();
  });
  try {
    await started;
  } catch (error) {
    if (stopping) return; // the shutdown under way reports and exits
    stopping = true;
    await stopParts(parts);
    releaseDataDir();
    throw error;
  }
}

async function startParts(base: LanternConfig, parts: Parts, stopping: () => boolean): Promise<void> {
  const childGraceMs = (base.shutdownGraceSeconds + 5) * 1000;
  let redisUrl = base.redisUrl;
  let privateRedis: StartFacts['privateRedis'];
  if (!redisUrl) {
    const dir = path.join(base.dataDir, 'redis');
    let port: number | undefined;
    parts.redis = supervise('redis-server', async () => {
      const redis = await startPrivateRedis(dir, { port });
      port = redis.port;
      redisUrl = redis.url;
      privateRedis = { url: redis.url, passwordFile: redis.passwordFile, dir };
      return { ready: Promise.resolve(), exited: redis.exited.then(() => 'exited'), stop: redis.stop };
    });
    await refuseIfFailed(parts.redis);
  }
  let databaseUrl = base.databaseUrl;
  if (!databaseUrl && !stopping()) {
    let port: string | undefined;
    parts.database = supervise('lantern db', async () => forkRole('db', port ? ['--port', port] : [], { LANTERN_DATA_DIR: base.dataDir }, 10_000, (message) => {
      databaseUrl = String(message.url);
      port = new URL(databaseUrl).port;
    }));
    await refuseIfFailed(parts.database);
  }
  if (stopping()) return;
  // The private PGlite is one session: one pooled connection keeps transactions apart.
  const privateDb = !base.databaseUrl;
  const config = { ...base, redisUrl: redisUrl!, databaseUrl, databasePoolMax: privateDb ? 1 : base.databasePoolMax, databaseNamedStatements: privateDb, databaseSoleWriter: privateDb };
  parts.api = await startApiRole(config);
  if (stopping()) return;
  const workerEnv = { REDIS_URL: config.redisUrl, LANTERN_DATA_DIR: config.dataDir, LANTERN_BLOB_DIR: config.blobDir, LANTERN_MODELS_DIR: config.modelsDir };
  parts.workers = Array.from({ length: config.workers }, (_, i) => supervise(`worker ${i + 1}`, async () => forkRole('worker', [], workerEnv, childGraceMs)));
  const failed = (await Promise.all(parts.workers.map((w) => w.firstStart))).filter(Boolean).length;
  if (stopping()) return;
  console.log(startBanner({
    apiUrl: parts.api.url,
    dimse: parts.api.dimse,
    privateRedis,
    privateDatabaseDir: privateDb ? path.join(config.dataDir, 'pglite') : undefined,
    workers: config.workers,
    failedWorkers: failed,
    firstAdminPasswordFile: fs.existsSync(firstAdminPasswordFile(config.dataDir)) ? firstAdminPasswordFile(config.dataDir) : undefined,
  }));
}

async function refuseIfFailed(part: Supervised): Promise<void> {
  const error = await part.firstStart;
  if (error) throw error;
}

/** The API stops taking requests; workers finish; the results they handed back are persisted; then the database and redis. */
async function stopParts(parts: Parts): Promise<void> {
  await parts.api?.stopAccepting();
  await Promise.all(parts.workers.map((w) => w.stop()));
  await parts.api?.stop();
  await parts.database?.stop();
  await parts.redis?.stop();
}

/**
 * One `lantern start` per data folder: a second would open the same PGlite files and
 * redis AOF. A pid file names the owner; one left by a process that is gone is taken over.
 */
function claimDataDir(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const pidFile = path.join(dataDir, 'lantern-start.pid');
  let owner: number | undefined;
  try {
    owner = Number.parseInt(fs.readFileSync(pidFile, 'utf8'), 10);
  } catch {
    // no owner
  }
  if (owner && owner !== process.pid && isLanternStart(owner)) {
    throw new Error(`another lantern start (pid ${owner}) is using ${dataDir}; stop it first`);
  }
  fs.writeFileSync(pidFile, String(process.pid));
  return () => fs.rmSync(pidFile, { force: true });
}

/** Whether `pid` is a `lantern start`, run as such or through `npm start` (scripts/start.mjs). */
const isLanternStart = (pid: number) => {
  try {
    const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return args.some((a) => a.endsWith('scripts/start.mjs')) || (args.some((a) => a.endsWith('lantern.mjs')) && args.includes('start'));
  } catch {
    return false;
  }
};
