import { Worker } from 'node:worker_threads';

export interface EventLoopWatchdog {
  stop(): Promise<void>;
}

/**
 * The watch, on a thread of its own: a loop stuck in synchronous code does not hold it. It writes
 * to the standard error's descriptor itself (a thread's process.stderr goes through the blocked
 * main thread), then sends SIGKILL to the process: a blocked loop would not run a SIGTERM handler.
 */
const WATCH = `
const fs = require('node:fs');
const { workerData } = require('node:worker_threads');
const beats = new Int32Array(workerData.buffer);
let last = Atomics.load(beats, 0);
let since = Date.now();
setInterval(() => {
  const now = Atomics.load(beats, 0);
  if (now !== last) { last = now; since = Date.now(); return; }
  const stalledMs = Date.now() - since;
  if (stalledMs < workerData.stallMs) return;
  fs.writeSync(2, JSON.stringify({ level: 60, time: Date.now(), pid: process.pid, stalledMs,
    msg: 'the event loop has not turned: ending this process, for its supervisor to start another' }) + '\\n');
  process.kill(process.pid, 'SIGKILL');
}, workerData.checkMs);
`;

/**
 * Ends this process when its event loop has not turned for `stallMs`. A worker stuck in synchronous
 * code (a codec looping on a hostile image, say) answers nothing, renews no job lock and never stops
 * by itself; killed, it is started again by `lantern start`'s supervisor (roles/supervisor.ts), its
 * job's lock lapses and the job goes to the next worker, and a job that stops its workers twice is
 * failed, visibly (pipeline/read-assist-worker.ts). The loop ticks a shared counter every
 * `stallMs / 8`; neither the tick nor the thread keeps the process alive.
 */
export function watchEventLoop(stallMs: number): EventLoopWatchdog {
  const buffer = new SharedArrayBuffer(4);
  const beats = new Int32Array(buffer);
  const tickMs = Math.max(10, Math.floor(stallMs / 8));
  const tick = setInterval(() => Atomics.add(beats, 0, 1), tickMs);
  tick.unref();
  const watch = new Worker(WATCH, { eval: true, workerData: { buffer, stallMs, checkMs: tickMs } });
  watch.unref();
  return {
    async stop() {
      clearInterval(tick);
      await watch.terminate();
    },
  };
}
