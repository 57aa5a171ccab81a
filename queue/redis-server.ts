import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export interface PrivateRedis {
  url: string;
  port: number;
  /** The 0600 file holding the password in `url`: what to name where the URL is shown to people. */
  passwordFile: string;
  /** Settles when the redis-server exits, for whatever reason (a supervisor restarts it). */
  exited: Promise<void>;
  stop(): Promise<void>;
}

export class RedisServerMissingError extends Error {
  readonly code = 'REDIS_SERVER_MISSING';
}

/** redis-server's own settings file, 0600: the password stays out of `ps` and survives a restart, so clients' URLs stay valid. */
const CONFIG_FILE = 'lantern-redis.conf';

/**
 * The private redis's password (`requirepass`): 32 random bytes, made once per data folder and
 * kept in `dir/lantern-redis.conf` (0600). Loopback alone is not enough: any local user or a
 * browser page's fetch to 127.0.0.1 could otherwise read and write the queues.
 */
export function privatePassword(dir: string): string {
  const file = path.join(dir, CONFIG_FILE);
  try {
    const kept = /^requirepass ([0-9a-f]{64})$/m.exec(fs.readFileSync(file, 'utf8'))?.[1];
    if (kept) return kept;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const password = randomBytes(32).toString('hex');
  fs.writeFileSync(file, `# Written by Lantern (queue/redis-server.ts); clients get the password in REDIS_URL.\nrequirepass ${password}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return password;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a redis-server owned by this process: loopback only, a free port (or `port`,
 * to restart one on the address its clients know), AOF persistence under `dir` (queued
 * jobs survive a restart), no RDB snapshots. `stop()` asks it to shut down (flushing the
 * AOF) and waits for it to exit. A redis-server that an earlier owner left running on
 * the same folder (its owner was killed) is stopped first: two must never append to one AOF.
 */
export async function startPrivateRedis(dir: string, options: { port?: number } = {}): Promise<PrivateRedis> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  const password = privatePassword(dir);
  await stopOrphan(dir);
  const port = options.port ?? await freePort();
  const args = [path.resolve(dir, CONFIG_FILE), '--port', String(port), '--pidfile', path.resolve(dir, PID_FILE), '--bind', '127.0.0.1', '--dir', path.resolve(dir), '--appendonly', 'yes',
    '--save', '', '--protected-mode', 'yes', '--daemonize', 'no', '--loglevel', 'warning',
    '--logfile', path.resolve(dir, 'redis.log'), '--maxmemory-policy', 'noeviction'];
  let child: ChildProcess;
  try {
    // Its own process group: a terminal's Ctrl-C must reach us, not redis, so that redis
    // outlives the API and workers that still need it while they stop.
    // Its AOF and log are patient-data-adjacent: created 0600 whatever the caller's umask (spawn copies ours).
    const umask = process.umask(0o077);
    try {
      child = spawn('redis-server', args, { stdio: 'ignore', detached: true });
    } finally {
      process.umask(umask);
    }
  } catch (error) {
    throw new RedisServerMissingError(`cannot start redis-server: ${(error as Error).message}`);
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once('error', (error) => reject(new RedisServerMissingError(
      `redis-server is not installed (${error.message}); install it with: sudo apt-get install -y redis-server`)));
    const deadline = Date.now() + 15_000;
    const probe = () => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => { socket.end(); resolve(); });
      socket.once('error', () => {
        socket.destroy();
        if (child.exitCode !== null || Date.now() > deadline) reject(new Error(`redis-server did not start; see ${path.join(dir, 'redis.log')}`));
        else setTimeout(probe, 50);
      });
    };
    probe();
  });
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  return {
    url: `redis://:${password}@127.0.0.1:${port}`,
    port,
    passwordFile: path.resolve(dir, CONFIG_FILE),
    exited,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timeout = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timeout);
    },
  };
}

/** redis-server writes it at start and removes it on a clean shutdown: one left behind names a server whose owner died. */
const PID_FILE = 'redis.pid';

/**
 * Stops the redis-server named by `dir`'s pid file if it still runs in `dir` (its working
 * folder, where it appends the AOF): SIGTERM, which flushes the AOF, then SIGKILL after 10 s.
 * A pid reused by an unrelated process is left alone.
 */
async function stopOrphan(dir: string): Promise<void> {
  let pid: number;
  let cwd: string;
  try {
    pid = Number.parseInt(fs.readFileSync(path.join(dir, PID_FILE), 'utf8').trim(), 10);
    cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return; // no pid file, the process is gone, or it is not ours to inspect
  }
  if (cwd !== path.resolve(dir) || !fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('redis-server')) return;
  process.kill(pid, 'SIGTERM');
  for (const deadline = Date.now() + 10_000; fs.existsSync(`/proc/${pid}`);) {
    if (Date.now() > deadline) process.kill(pid, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
