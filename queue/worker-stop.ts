import type { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';

/**
 * Stops a worker that owns its queue and connection: lets the job in hand finish for up to
 * `graceMs`, then drops the connection under it — its lock lapses and the next start runs it
 * again, to the same effect, so only idempotent jobs may be stopped this way. (BullMQ's
 * `close(true)` after a `close()` only returns the first, which waits for the job forever.)
 */
export async function stopWorkerWithin(worker: Worker, queue: Queue, connection: Redis, graceMs: number): Promise<void> {
  const closed = worker.close();
  const late = await Promise.race([closed.then(() => false), new Promise<boolean>((resolve) => setTimeout(resolve, graceMs, true).unref())]);
  await queue.close();
  if (late) {
    closed.catch(() => undefined);
    connection.disconnect();
  } else {
    await connection.quit();
  }
}
