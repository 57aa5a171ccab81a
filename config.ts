import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Lantern's only reader of `process.env`. Everything else receives a typed
 * `LanternConfig` (or the slice it needs), so a test can build one by hand.
 */
export interface LanternConfig {
  /** HTTP port of the API; 0 picks a free one. Env `PORT`, default 8080. */
  port: number;
  /** Interface the API binds. Env `HOST`, default 127.0.0.1 (a clinic box should not expose it by accident). */
  host: string;
  /** Redis for the queues. Env `REDIS_URL`; unset means `npm start` runs a private redis-server. */
  redisUrl?: string;
  /** PostgreSQL. Env `DATABASE_URL`; unset means embedded PGlite under `dataDir`. */
  databaseUrl?: string;
  /** Connections the API keeps to PostgreSQL. Env `LANTERN_DB_POOL_MAX`, default 10 (1 for the private PGlite server). */
  databasePoolMax: number;
  /**
   * Name each parameterised statement by its text, so the database parses and plans it once
   * per connection. Not from the environment: `npm start` turns it on for its private PGlite
   * server (one client, which migrates before it queries), where the finding's persist step
   * went from 14 to 10–11 ms (p50, in situ). Off for PostgreSQL: a plan cached across a schema
   * change made by another process fails once ("cached plan must not change result type").
   */
  databaseNamedStatements: boolean;
  /** Where PGlite, the private redis and stored DICOM live. Env `LANTERN_DATA_DIR`, default `<repo>/var`. */
  dataDir: string;
  /** Content-addressed DICOM store; must be shared by API and workers. Env `LANTERN_BLOB_DIR`, default `<dataDir>/blobs`. */
  blobDir: string;
  /** Folder of model folders. Env `LANTERN_MODELS_DIR`, default `<repo>/models`. */
  modelsDir: string;
  /** Built viewer served at `/`. Env `LANTERN_VIEWER_DIR`, default `<repo>/viewer/dist`. */
  viewerDir: string;
  /**
   * Worker processes `npm start` forks. Env `LANTERN_WORKERS`, default one per core: measured on
   * 2 cores, 2 workers read 1.4× the images/s of one while the API's lag p99 stayed ~13 ms.
   */
  workers: number;
  /** Jobs one worker process runs at once. Env `LANTERN_WORKER_CONCURRENCY`, default 1 (inference is CPU-bound). */
  workerConcurrency: number;
  /**
   * CPU priority (nice, 0–19) of worker processes, every thread of them. Env `LANTERN_WORKER_NICE`,
   * default 10: inference is batch work, while the API, the database and Redis answer people
   * in short bursts and should preempt it; with nobody else wanting the CPU, workers still get all of it.
   */
  workerNice: number;
  /** onnxruntime intra-op threads per session. Env `LANTERN_ORT_THREADS`, default 1. */
  ortThreads: number;
  /** Largest accepted upload in bytes. Env `LANTERN_MAX_UPLOAD_BYTES`, default 512 MiB. */
  maxUploadBytes: number;
  /** Prefix of BullMQ keys, so several Lanterns can share a Redis. Env `LANTERN_QUEUE_PREFIX`, default `lantern`. */
  queuePrefix: string;
  /** How long a worker's claim on a job lasts without renewal; a killed worker's job is re-run after about this long. Env `LANTERN_JOB_LOCK_MS`, default 30000. */
  jobLockMs: number;
  /** pino level. Env `LOG_LEVEL`, default `info`. */
  logLevel: string;
  /** Seconds `stop()` waits for active jobs before handing them back. Env `LANTERN_SHUTDOWN_GRACE_S`, default 10. */
  shutdownGraceSeconds: number;
}

export const repoRoot = path.dirname(fileURLToPath(import.meta.url));

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}, got "${raw}"`);
  }
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<LanternConfig> = {}): LanternConfig {
  const dataDir = path.resolve(env.LANTERN_DATA_DIR || path.join(repoRoot, 'var'));
  const config: LanternConfig = {
    port: integer(env, 'PORT', 8080),
    host: env.HOST || '127.0.0.1',
    redisUrl: env.REDIS_URL || undefined,
    databaseUrl: env.DATABASE_URL || undefined,
    databasePoolMax: integer(env, 'LANTERN_DB_POOL_MAX', 10, 1),
    databaseNamedStatements: false,
    dataDir,
    blobDir: path.resolve(env.LANTERN_BLOB_DIR || path.join(dataDir, 'blobs')),
    modelsDir: path.resolve(env.LANTERN_MODELS_DIR || path.join(repoRoot, 'models')),
    viewerDir: path.resolve(env.LANTERN_VIEWER_DIR || path.join(repoRoot, 'viewer', 'dist')),
    workers: integer(env, 'LANTERN_WORKERS', os.availableParallelism(), 0),
    workerConcurrency: integer(env, 'LANTERN_WORKER_CONCURRENCY', 1, 1),
    workerNice: integer(env, 'LANTERN_WORKER_NICE', 10, 0, 19),
    ortThreads: integer(env, 'LANTERN_ORT_THREADS', 1, 1),
    maxUploadBytes: integer(env, 'LANTERN_MAX_UPLOAD_BYTES', 512 * 1024 * 1024, 1),
    queuePrefix: env.LANTERN_QUEUE_PREFIX || 'lantern',
    jobLockMs: integer(env, 'LANTERN_JOB_LOCK_MS', 30_000, 1000),
    logLevel: env.LOG_LEVEL || 'info',
    shutdownGraceSeconds: integer(env, 'LANTERN_SHUTDOWN_GRACE_S', 10, 0),
  };
  return { ...config, ...overrides };
}
