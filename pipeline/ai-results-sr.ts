import { Queue, Worker } from 'bullmq';
import { aiResultsSrJob } from '../contract/ai-results-sr.ts';
import { dicomJsonOf } from '../dicom/dicom-json.ts';
import { REVIEW_REASONS } from '../contract/reading.ts';
import { decisionSr, decisionSrUid, findingsSr, findingsSrUid, aiResultsSeriesUid, type WrittenSr } from '../dicom/sr/ai-results-sr.ts';
import { EXPLICIT_VR_LITTLE_ENDIAN } from '../dicom/sr/dcmjs-io.ts';
import { AI_RESULTS_SERIES, COMPREHENSIVE_SR } from '../dicom/sr/measurement-report.ts';
import { logger, uidHash } from '../log.ts';
import { AI_RESULTS_SR_QUEUE, AI_RESULTS_SR_RETRY, aiResultsSrJobId, type AiResultsSrJob } from '../queue/ai-results-sr.ts';
import { redisConnection } from '../queue/connection.ts';
import { REQUEST_REDIS_WAIT_MS } from '../queue/enqueue.ts';
import { stopWorkerWithin } from '../queue/worker-stop.ts';
import type { BlobStore } from '../store/blobs.ts';
import type { Store } from '../store/store.ts';
import { parseJob } from './job-contract.ts';
import type { ResultsPush } from './results-push.ts';

/** Finished jobs are kept this long: a second request for the same document within it adds nothing. */
const KEEP = { age: 7 * 24 * 3600, count: 100_000 };

export interface AiResultsSrOptions {
  redisUrl: string;
  prefix: string;
  store: Store;
  blobs: BlobStore;
  /** Where written documents go as well (config.ts LANTERN_RESULTS_DESTINATION); none: they stay in Lantern. */
  push?: ResultsPush;
}

/**
 * AI results as DICOM SR, kept in the study: after a model's findings are stored, the
 * preliminary document (dicom/sr/); after each clinician's review, a document recording the
 * decision that supersedes the one before. Each is stored like a received instance of the
 * study — its blob, an instance row with nothing for AI to do, an `instance.received` audit
 * record whose actor is the model or the clinician — so QIDO-RS and WADO-RS serve it, and then
 * pushed to the destination if one is configured.
 *
 * Runs in the API role (it needs the store). A document is written as soon as what it records
 * is committed — in the result job, in the review request — so whoever sees the findings or the
 * decision next sees its SR too; one that cannot be written then goes to its own BullMQ queue
 * and is retried with backoff, as are the pushes, so a failure or a destination that is down
 * delays only itself. Documents are read from the store, and their UIDs and bytes derive from
 * what they record: written twice, they are stored once (idempotent on SOP Instance UID, one
 * blob by hash).
 */
export function createAiResultsSr(options: AiResultsSrOptions) {
  const { store, blobs } = options;
  const connection = redisConnection(options.redisUrl);
  const queue = new Queue<AiResultsSrJob>(AI_RESULTS_SR_QUEUE, { connection, prefix: options.prefix });
  const optionsOf = (job: AiResultsSrJob) => ({ jobId: aiResultsSrJobId(job), removeOnComplete: KEEP, removeOnFail: KEEP, ...AI_RESULTS_SR_RETRY[job.kind] });
  const add = async (job: AiResultsSrJob) => {
    await queue.add(job.kind, job, optionsOf(job));
  };

  async function storeSr(sr: WrittenSr, subject: { studyInstanceUid: string; siteId: string }, actor: string): Promise<void> {
    const blobSha256 = await blobs.put(sr.bytes);
    const { status } = await store.recordInstance({
      study: { studyInstanceUid: subject.studyInstanceUid },
      siteId: subject.siteId,
      seriesInstanceUid: sr.seriesInstanceUid,
      seriesNumber: AI_RESULTS_SERIES.number,
      sopInstanceUid: sr.sopInstanceUid,
      sopClassUid: COMPREHENSIVE_SR,
      transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN,
      modality: 'SR',
      blobSha256,
      byteSize: sr.bytes.byteLength,
      pendingModels: [],
      // What QIDO-RS and WADO-RS metadata answer for it, like any received instance's.
      dicomJson: dicomJsonOf(sr.bytes, EXPLICIT_VR_LITTLE_ENDIAN, true),
    }, actor);
    logger.info({ sr: uidHash(sr.sopInstanceUid), status }, 'AI results SR stored');
    if (!options.push) return;
    // In a request, Redis is waited for briefly (queue/enqueue.ts): the command stays with ioredis until Redis is back.
    const queued = add({ kind: 'push', sopInstanceUid: sr.sopInstanceUid, blobSha256 });
    queued.catch((error) => logger.error({ err: error, sr: uidHash(sr.sopInstanceUid) }, 'AI results SR push not queued'));
    await Promise.race([queued, new Promise((resolve) => setTimeout(resolve, REQUEST_REDIS_WAIT_MS).unref())]);
  }

  /** The preliminary document of a model's findings on an image; none when consent left no findings. */
  async function writeFindings(sopInstanceUid: string, modelKey: string): Promise<void> {
    const subject = await store.aiResultsSubject(sopInstanceUid, modelKey);
    if (subject.findings.length === 0) return;
    const sr = findingsSr({ source: await blobs.get(subject.blobSha256), model: subject.findings[0].model, findings: subject.findings, createdAt: subject.createdAt });
    await storeSr(sr, subject, `model:${modelKey}`);
  }

  async function writeReview(reviewId: string): Promise<void> {
    const subject = await store.reviewSubject(reviewId);
    // The document it supersedes is written first (a no-op when it is stored), so the chain it names exists.
    await writeFindings(subject.sourceSopInstanceUid, subject.modelKey);
    const model = subject.findings[0].model;
    const reasons = new Map<string, string>(REVIEW_REASONS.map((r) => [r.code, r.display]));
    // Person names from the accounts (a login like dr.li is not a name); a reviewer without an account keeps the login.
    const nameOf = (login: string) => subject.reviewerNames.get(login) ?? login;
    const sr = decisionSr({
      source: await blobs.get(subject.blobSha256),
      model,
      findings: subject.findings,
      createdAt: subject.createdAt,
      review: { id: subject.review.id, createdAt: subject.review.createdAt, reviewer: { name: nameOf(subject.review.reviewer), login: subject.review.reviewer } },
      decisions: new Map(subject.decisions.map((d) => [d.findingId, {
        decision: d.decision,
        reason: d.reasonCode ? { code: d.reasonCode, display: reasons.get(d.reasonCode) ?? d.reasonCode } : undefined,
        comment: d.comment,
        reviewerName: nameOf(d.reviewer),
      }])),
      organization: `Lantern site ${subject.siteId}`,
      predecessor: {
        sopInstanceUid: subject.previousReviewId ? decisionSrUid(subject.previousReviewId) : findingsSrUid(subject.sourceSopInstanceUid, model),
        seriesInstanceUid: aiResultsSeriesUid(subject.studyInstanceUid),
      },
      position: subject.earlierReviews + 1,
    });
    await storeSr(sr, subject, subject.review.reviewer);
  }

  /** Writes a document; if that fails, hands it to the queue (retried with backoff), waiting for Redis to take it or not. */
  async function writeOrQueue(job: Extract<AiResultsSrJob, { kind: 'findings' | 'review' }>, write: () => Promise<void>, queueing: 'wait' | 'no-wait'): Promise<void> {
    try {
      await write();
    } catch (error) {
      logger.warn({ err: error, job: job.kind }, 'AI results SR not written; queued to be retried');
      const queued = add(job);
      if (queueing === 'wait') await queued;
      else queued.catch((failure) => logger.error({ err: failure, job: job.kind }, 'AI results SR not queued; reconciliation asks again'));
    }
  }

  const worker = new Worker<AiResultsSrJob>(AI_RESULTS_SR_QUEUE, async (job) => {
    const data = parseJob(aiResultsSrJob, job.data, 'AI results SR job');
    if (data.kind === 'findings') await writeFindings(data.sopInstanceUid, data.modelKey);
    else if (data.kind === 'review') await writeReview(data.reviewId);
    // A push queued under an earlier configuration is dropped when no destination is set now.
    else if (options.push) await options.push(await blobs.get(data.blobSha256));
  }, { connection, prefix: options.prefix, concurrency: 1, autorun: true });
  worker.on('failed', (job, error) => logger.warn({ job: job?.name, attempts: job?.attemptsMade, err: error }, 'AI results SR job failed (retried while attempts remain)'));
  worker.on('error', (error) => logger.error({ err: error }, 'AI results SR worker error'));

  return {
    queue,
    /**
     * Writes the preliminary document of a model's findings on an image, now (the results
     * consumer calls it once they are stored, so the study has its SR when the result job
     * completes); if that fails, queues it for retries and resolves once it is queued.
     */
    afterFindings: (sopInstanceUid: string, modelKey: string) => writeOrQueue({ kind: 'findings', sopInstanceUid, modelKey }, () => writeFindings(sopInstanceUid, modelKey), 'wait'),
    /**
     * Writes the document of a committed review, now (so the reviewer's answer comes after it);
     * if that fails, queues it without waiting for Redis: a review is never held by its SR.
     */
    afterReview: (reviewId: string) => writeOrQueue({ kind: 'review', reviewId }, () => writeReview(reviewId), 'no-wait'),
    /**
     * Asks for the documents of the last week's reviews that are not stored (a review commits
     * before its document; an API process stopped in between, or a write that failed while
     * Redis was away, leaves one without). Run at start and whenever Redis comes back.
     * Findings need no such pass: their result job completes only once the document is
     * written or queued.
     */
    async reconcile(): Promise<number> {
      const ids = await store.reviewsSince(new Date(Date.now() - KEEP.age * 1000));
      const stored = new Set(await store.storedInstances(ids.map(decisionSrUid)));
      const missing = ids.filter((id) => !stored.has(decisionSrUid(id)));
      for (let i = 0; i < missing.length; i += 500) {
        await queue.addBulk(missing.slice(i, i + 500).map((reviewId) => {
          const job: AiResultsSrJob = { kind: 'review', reviewId };
          return { name: job.kind, data: job, opts: optionsOf(job) };
        }));
      }
      return missing.length;
    },
    /** Lets the job in hand finish for up to `graceMs` (a push may wait 30 s on a slow archive), then drops it to the next start. */
    stop: (graceMs = 5_000) => stopWorkerWithin(worker, queue, connection, graceMs),
  };
}

export type AiResultsSr = ReturnType<typeof createAiResultsSr>;
