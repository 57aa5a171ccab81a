import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export interface PrivateRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export class RedisServerMissingError extends Error {
  readonly code = 'REDIS_SERVER_MISSING';
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
 * Starts a redis-server owned by this process: loopback only, a free port, AOF
 * persistence under `dir` (queued jobs survive a restart), no RDB snapshots.
 * `stop()` asks it to shut down (flushing the AOF) and waits for it to exit.
 */
export async function startPrivateRedis(dir: string): Promise<PrivateRedis> {
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', path.resolve(dir), '--appendonly', 'yes',
    '--save', '', '--protected-mode', 'yes', '--daemonize', 'no', '--loglevel', 'warning',
    '--logfile', path.resolve(dir, 'redis.log'), '--maxmemory-policy', 'noeviction'];
  let child: ChildProcess;
  try {
    // Its own process group: a terminal's Ctrl-C must reach us, not redis, so that redis
    // outlives the API and workers that still need it while they stop.
    child = spawn('redis-server', args, { stdio: 'ignore', detached: true });
  } catch (error) {
    throw new RedisServerMissingError(`cannot start redis-server: ${(error as Error).message}`);
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
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
    url: `redis://127.0.0.1:${port}`,
    port,
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
