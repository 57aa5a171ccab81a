import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { logger } from '../log.ts';

const lanternBin = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'lantern.mjs');

/** One run of a supervised child. Neither promise rejects. */
export interface Run {
  /** Resolves once the child serves. */
  ready: Promise<void>;
  /** Resolves when it has ended, with how. */
  exited: Promise<string>;
  /** Asks it to stop and waits for it; safe to call more than once. */
  stop(): Promise<void>;
}

export interface Supervised {
  /** The first run's outcome: undefined once it was ready, else why it failed (later runs are retried). */
  firstStart: Promise<Error | undefined>;
  /** Stops the child (waiting for a start in progress) and restarts it no more. */
  stop(): Promise<void>;
}

/** Delays between restarts: doubling from `firstMs` to `maxMs`; a run that lasted `stableMs` starts the doubling again. */
export interface Backoff {
  firstMs: number;
  maxMs: number;
  stableMs: number;
}

export const BACKOFF: Backoff = { firstMs: 500, maxMs: 30_000, stableMs: 60_000 };

/**
 * Keeps a child running: starts it, and whenever it exits or fails to start, starts it
 * again after a backoff. A failure never escapes as a rejection: it is logged, and only
 * the first run's is reported (a part `lantern start` cannot do without refuses the start).
 */
export function supervise(name: string, start: () => Promise<Run>, backoff: Backoff = BACKOFF): Supervised {
  let stopping = false;
  let current: Run | undefined;
  let wake = () => undefined as void;
  let reportFirst: (error: Error | undefined) => void = () => undefined;
  const firstStart = new Promise<Error | undefined>((resolve) => { reportFirst = resolve; });
  const settle = (error: Error | undefined) => {
    reportFirst(error);
    reportFirst = () => undefined;
  };

  const loop = (async () => {
    for (let delay = backoff.firstMs; !stopping;) {
      const began = Date.now();
      try {
        current = await start();
        if (stopping) break;
        const ended = await Promise.race([current.ready.then(() => undefined), current.exited]);
        if (ended !== undefined) throw new Error(`${name} exited (${ended}) before it was ready`);
        settle(undefined);
        const how = await current.exited;
        if (stopping) break;
        logger.warn({ child: name, how }, 'child exited; restarting it');
      } catch (error) {
        settle(error as Error);
        if (stopping) break;
        logger.error({ child: name, err: error }, 'child failed to start; retrying');
      }
      if (Date.now() - began >= backoff.stableMs) delay = backoff.firstMs;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        wake = () => { clearTimeout(timer); resolve(); };
      });
      delay = Math.min(delay * 2, backoff.maxMs);
    }
    await current?.stop();
  })();

  return {
    firstStart,
    async stop() {
      stopping = true;
      wake();
      await current?.stop();
      await loop;
      settle(new Error(`${name} stopped before it was ready`));
    },
  };
}

/**
 * Forks `lantern <role> [args]`: ready at its first `{ ready: true }` message (handed to
 * `onReady`). Stopped through the IPC channel (`{ stop: true }`), not a signal, so that a
 * signal sent to the whole process group leaves the order of stopping to the supervisor;
 * killed if it outlives `graceMs`.
 */
export function forkRole(role: string, args: string[], env: NodeJS.ProcessEnv, graceMs: number, onReady?: (message: Record<string, unknown>) => void): Run {
  const child = fork(lanternBin, [role, ...args], { env: { ...process.env, ...env }, stdio: 'inherit' });
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(signal ? `signal ${signal}` : `code ${code}`)));
  child.on('error', (error) => logger.error({ role, err: error }, 'child process error'));
  const ready = new Promise<void>((resolve) => {
    child.on('message', (message: Record<string, unknown> | null) => {
      if (!message?.ready) return;
      onReady?.(message);
      resolve();
    });
  });
  let stopped: Promise<void> | undefined;
  return {
    ready,
    exited,
    stop() {
      stopped ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        if (child.connected) child.send({ stop: true }, (error) => (error ? child.kill('SIGTERM') : undefined));
        else child.kill('SIGTERM');
        await exited;
        clearTimeout(killer);
      })();
      return stopped;
    },
  };
}
