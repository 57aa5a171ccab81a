import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { readAssistJob } from '../contract/jobs.ts';
import { DicomError } from '../dicom/errors.ts';
import type { DicomLimits } from '../dicom/limits.ts';
import { readAssist } from '../inference/read-assist.ts';
import type { ModelRegistry } from '../inference/registry.ts';
import { logger } from '../log.ts';
import { redisConnection } from '../queue/connection.ts';
import { READ_ASSIST_QUEUE, RESULTS_QUEUE, resultJobId, type ReadAssistJob, type ResultJob } from '../queue/jobs.ts';
import type { BlobStore } from '../store/blobs.ts';
import { createDegradationGate } from './degradation-gate.ts';
import { parseJob } from './job-contract.ts';

export interface ReadAssistWorkerOptions {
  redisUrl: string;
  prefix: string;
  registry: ModelRegistry;
  blobs: BlobStore;
  concurrency: number;
  lockDurationMs: number;
  /** The bounds every job's object is parsed and decoded within: the deployment's (config.ts), the same the API ingests with. */
  dicomLimits: DicomLimits;
  /**
   * The degradation ladder's worker side (pipeline/degradation-gate.ts): how often the step is
   * re-read, and how long a deferred job waits. Absent: every job runs whole.
   */
  degradation?: { refreshMs: number; deferMs: number };
}

/** How long persisted job records are kept, so a re-added id is recognised as done. */
const KEEP_DONE = { age: 7 * 24 * 3600, count: 100_000 };

/**
 * A worker process's consumer of read-assist jobs.
 *
 * Errors decide what happens next: input the dicom/ layer rejects (DicomError) and a
 * model this worker does not have fail at once (UnrecoverableError) with a visible
 * failure result; anything else is retried with backoff, and reported as a failure
 * only after the last attempt. A job that stopped its workers (a crash or a hang: its lock
 * lapsed) more often than BullMQ's maxStalledCount allows is reported as WORKER_STOPPED,
 * not run again. Results go to the results queue under a job id derived
 * from this job's id, so a job run twice hands back one result.
 *
 * A job's Redis round trips, each needed: BullMQ's moveToActive (taking the job and its lock),
 * the hand-back (the result must be queued before the job completes: at-least-once), and
 * moveToCompleted, which fetches the next job in the same script. The degradation step is read
 * in the background (pipeline/degradation-gate.ts), and the blob read once, uncopied. Locks are
 * renewed only every `lockDurationMs / 2`, longer than a job takes, and an idle worker blocks
 * on the queue's marker, woken by the next add, so BullMQ's drain delay adds no latency.
 */
export function createReadAssistWorker(options: ReadAssistWorkerOptions) {
  const connection = redisConnection(options.redisUrl);
  const results = new Queue<ResultJob>(RESULTS_QUEUE, { connection, prefix: options.prefix });
  const handBack = (job: Job<ReadAssistJob>, result: ResultJob) =>
    results.add(result.kind, result, { jobId: resultJobId(job.id!), removeOnComplete: KEEP_DONE, removeOnFail: KEEP_DONE, attempts: 10, backoff: { type: 'exponential', delay: 500 } });

  const failure = (job: Job<ReadAssistJob>, code: string, message: string): ResultJob => {
    const [id, version] = job.data.modelKey.split('@');
    // Read from the raw job data: one queued before deployment states has no marker, and was clinical.
    return { kind: 'failure', sopInstanceUid: job.data.sopInstanceUid, model: { id, version }, error: { code, message }, deployment: job.data.deployment ?? 'clinical' };
  };

  const gate = options.degradation && createDegradationGate({ redis: connection, prefix: options.prefix, registry: options.registry, ...options.degradation });

  const worker = new Worker<ReadAssistJob>(READ_ASSIST_QUEUE, async (job, token) => {
    const { deployment } = parseJob(readAssistJob, job.data, 'read-assist job');
    const plan = await gate?.plan(job);
    if (plan?.deferUntil !== undefined) {
      // Back to the queue with its priority and upload time; it runs at its place once the step is left.
      await job.moveToDelayed(plan.deferUntil, token);
      throw new DelayedError();
    }
    let model;
    try {
      model = options.registry.readAssist(job.data.modelKey);
    } catch (error) {
      await handBack(job, failure(job, 'MODEL_NOT_LOADED', (error as Error).message));
      throw new UnrecoverableError((error as Error).message);
    }
    const bytes = await options.blobs.get(job.data.blobSha256);
    try {
      const { findings } = await readAssist(bytes, model, options.dicomLimits, { skipHeatmaps: plan?.skipHeatmaps });
      // Time the job waited in the queue: part of what a clinician waits for, so it is in every finding's timing.
      const queueWait = Math.max(0, (job.processedOn ?? Date.now()) - job.timestamp);
      for (const finding of findings) finding.timingMs = { queueWait, ...finding.timingMs };
      // The run's deployment travels with its findings: the store keeps a shadow run's away from clinicians.
      await handBack(job, { kind: 'findings', sopInstanceUid: job.data.sopInstanceUid, modelKey: model.key, deployment, findings });
      return { findings: findings.length };
    } catch (error) {
      if (error instanceof DicomError) {
        await handBack(job, failure(job, error.code, error.message));
        throw new UnrecoverableError(`${error.code}: ${error.message}`);
      }
      throw error instanceof Error ? error : new Error(String(error));
    }
  }, {
    connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    stalledInterval: Math.max(1000, Math.floor(options.lockDurationMs / 2)),
    autorun: false,
  });

  worker.on('failed', (job, error) => {
    if (!job) return;
    // A job whose workers stopped under it (crashed, hung, were killed) more often than BullMQ's
    // maxStalledCount allows is failed as it is taken again, unrun (its `deferredFailure`). No
    // result came back from those runs: unless one is handed back here, its model stays pending for ever.
    const stoppedItsWorkers = Boolean(job.deferredFailure);
    const final = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    logger.warn({ jobId: job.id, attempt: job.attemptsMade, final, stoppedItsWorkers, reason: error.message }, 'read-assist job failed');
    const handedBackAlready = error instanceof UnrecoverableError && !stoppedItsWorkers;
    if (final && !handedBackAlready) {
      const result = stoppedItsWorkers
        ? failure(job, 'WORKER_STOPPED', `the image stopped the workers that read it (${job.deferredFailure}); it is not read again`)
        : failure(job, 'INFERENCE_FAILED', error.message);
      void handBack(job, result).catch((e) => logger.error({ err: e }, 'could not hand back a failure'));
    }
  });
  worker.on('error', (error) => logger.error({ err: error }, 'read-assist worker error'));

  return {
    worker,
    start() {
      void worker.run();
    },
    /**
     * Finishes active jobs within `graceMs`; past that, closes without them: their
     * locks lapse and another worker re-runs them (at-least-once, idempotent writes).
     */
    async stop(graceMs: number) {
      const closed = worker.close();
      const timer = new Promise<'timeout'>((resolve) => setTimeout(resolve, graceMs, 'timeout').unref());
      if (await Promise.race([closed.then(() => 'closed' as const), timer]) === 'timeout') await worker.close(true);
      await results.close();
      await connection.quit();
    },
  };
}
