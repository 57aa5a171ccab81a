import fs from 'node:fs';
import os from 'node:os';

/**
 * Lowers this process's CPU priority to `nice`, on every thread it has.
 *
 * Why every thread: on Linux a nice value belongs to a thread, and `os.setPriority(0, n)`
 * changes only the calling one; V8's and libuv's threads already exist by the time a
 * role starts. Threads created afterwards (onnxruntime's, libvips') inherit from their
 * creator. Elsewhere the process-wide call is all there is.
 */
export function lowerCpuPriority(nice: number): void {
  const taskDir = '/proc/self/task';
  const threads = fs.existsSync(taskDir) ? fs.readdirSync(taskDir).map(Number) : [0];
  for (const thread of threads) {
    try {
      if (os.getPriority(thread) < nice) os.setPriority(thread, nice);
    } catch (error) {
      // A thread that ended since the listing has nothing left to lower.
      if ((error as { info?: { code?: string } }).info?.code !== 'ESRCH') throw error;
    }
  }
}
