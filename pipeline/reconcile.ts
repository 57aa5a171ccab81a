import { logger } from '../log.ts';
import type { ReadAssistQueue } from '../queue/enqueue.ts';
import { readAssistJobId } from '../queue/jobs.ts';
import type { Store } from '../store/store.ts';

/**
 * Re-queues the work the database says is waiting and Redis no longer holds.
 *
 * An instance is committed as `queued` with the models still to answer; its jobs are
 * added to Redis beside that write. If Redis dies in between (or loses its last second of
 * AOF when killed), the row waits for jobs that do not exist. A pass walks every instance
 * still waiting for some model and adds each job that Redis does not know, at the study's
 * priority. Job ids are derived from instance and model, so a pass racing an upload, a
 * worker or another API process adds nothing twice. Run at the API's start and whenever
 * its Redis connection comes back; passes asked for while one runs are folded into one more.
 */
export function createReconciler(deps: {
  store: Pick<Store, 'instancesAwaitingModels'>; readAssist: ReadAssistQueue;
  /** A model whose answer this process holds or is writing (pipeline/instance-writes.ts): pending, and no job lost. */
  answeringHere?: (sopInstanceUid: string, modelKey: string) => boolean;
}) {
  let running: Promise<number> | undefined;
  let again = false;

  async function pass(): Promise<number> {
    let requeued = 0;
    for (let after = ''; ;) {
      const page = await deps.store.instancesAwaitingModels(after);
      if (page.length === 0) return requeued;
      for (const instance of page) {
        const missing: string[] = [];
        for (const modelKey of instance.pendingModels) {
          if (deps.answeringHere?.(instance.sopInstanceUid, modelKey)) continue;
          if (!await deps.readAssist.queue.getJob(readAssistJobId(instance.sopInstanceUid, modelKey))) missing.push(modelKey);
        }
        if (missing.length === 0) continue;
        // Only clinical runs wait in `pendingModels` (pipeline/ingest.ts): lost shadow work is not re-queued.
        const clinical = missing.map((modelKey) => ({ modelKey, deployment: 'clinical' as const }));
        await deps.readAssist.enqueue({ sopInstanceUid: instance.sopInstanceUid, studyInstanceUid: instance.studyInstanceUid, blobSha256: instance.blobSha256 }, clinical, instance.priority);
        requeued += missing.length;
      }
      after = page[page.length - 1].sopInstanceUid;
    }
  }

  return {
    /** Resolves with the number of jobs the pass (or the one it joined) added. */
    run(): Promise<number> {
      if (running) {
        again = true;
        return running;
      }
      running = (async () => {
        let total = 0;
        do {
          again = false;
          total += await pass();
        } while (again);
        if (total > 0) logger.warn({ requeued: total }, 'reconciliation re-queued read-assist jobs Redis did not hold');
        return total;
      })().finally(() => { running = undefined; });
      return running;
    },
  };
}
