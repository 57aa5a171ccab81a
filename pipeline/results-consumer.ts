import { Queue, Worker } from 'bullmq';
import { resultJob } from '../contract/jobs.ts';
import { logger, uidHash } from '../log.ts';
import { redisConnection } from '../queue/connection.ts';
import { RESULTS_QUEUE, type ResultJob } from '../queue/jobs.ts';
import type { Store } from '../store/store.ts';
import type { InstanceWrites } from './instance-writes.ts';
import { parseJob } from './job-contract.ts';
import { recordRunFindings } from './record-findings.ts';

/**
 * Persists what workers hand back. Runs beside the store (in the API role), so the
 * embedded PGlite has one owner; every write it makes is idempotent, so a result
 * delivered twice changes nothing. Store errors are retried by BullMQ with backoff, among
 * them a result whose instance is not recorded yet (its write failed or is in another
 * process); one still being written here is awaited first. A result that breaks the
 * contract (contract/jobs.ts) fails at once, visibly, and writes nothing: retrying it
 * cannot mend it.
 *
 * A clinical result job completes once its findings are committed (the worklist event fires
 * at that commit) and their DICOM SR is queued (`onFindings`): "finding persisted" waits for
 * Redis to take the SR's job, not for the SR, which its own queue's worker writes
 * (pipeline/ai-results-sr.ts). If the SR cannot be queued the job fails and is retried, so no
 * findings are left without their SR written or queued.
 */
export function createResultsConsumer(options: {
  redisUrl: string; prefix: string; store: Store; instanceWrites: Pick<InstanceWrites, 'settled' | 'resultPersisted'>;
  /** After a model's findings are committed: queues their DICOM SR (pipeline/ai-results-sr.ts), resolving once Redis has it. A failure retries the result, whose store write is idempotent. */
  onFindings?: (sopInstanceUid: string, modelKey: string) => Promise<void>;
}) {
  const connection = redisConnection(options.redisUrl);
  const worker = new Worker<ResultJob>(RESULTS_QUEUE, async (job) => {
    const result = parseJob(resultJob, job.data, 'result');
    await options.instanceWrites.settled(result.sopInstanceUid);
    // A shadow run's result is kept for model teams only: no SR, no status, no triage (store/deployments.ts).
    const shadow = result.deployment === 'shadow';
    // The same writes as a run answered at ingest (pipeline/record-findings.ts): the SR is queued once the findings commit.
    if (result.kind === 'findings') await recordRunFindings({ store: options.store, onFindings: options.onFindings }, result);
    else {
      const actor = `model:${result.model.id}@${result.model.version}`;
      if (shadow) await options.store.recordShadowFailure(result.sopInstanceUid, result.model, result.error, actor);
      else await options.store.recordInferenceFailure(result.sopInstanceUid, result.model, result.error, actor);
    }
    logger.info({ instance: uidHash(result.sopInstanceUid), kind: result.kind, deployment: result.deployment }, 'result persisted');
  }, { connection, prefix: options.prefix, concurrency: 1, autorun: true });
  // Once the job has completed (the finding is persisted and announced), the film's answers ingest held (pipeline/instance-writes.ts) are written.
  worker.on('completed', (job) => {
    if (job.data.deployment === 'clinical') options.instanceWrites.resultPersisted(job.data.sopInstanceUid);
  });
  worker.on('error', (error) => logger.error({ err: error }, 'results consumer error'));
  const queue = new Queue<ResultJob>(RESULTS_QUEUE, { connection, prefix: options.prefix });
  return {
    worker,
    /**
     * Persists the results waiting or being persisted, for up to `deadlineMs` (when stopping,
     * after the workers): what they handed back is written before the database stops. Results
     * waiting out a retry's backoff stay queued in Redis for the next start. True if none are left.
     */
    async drain(deadlineMs: number): Promise<boolean> {
      const until = Date.now() + deadlineMs;
      const pending = () => queue.getJobCounts('waiting', 'prioritized', 'active').then((counts) => Object.values(counts).reduce((a, b) => a + b, 0));
      for (;;) {
        const left = await Promise.race([pending(), new Promise<number>((resolve) => setTimeout(resolve, Math.max(0, until - Date.now()), -1).unref())]);
        if (left === 0) return true;
        if (Date.now() >= until) return false;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async stop() {
      await worker.close();
      await queue.close();
      await connection.quit();
    },
  };
}
