import { Queue, Worker } from 'bullmq';
import { aiResultsPushJob, aiResultsSrJob } from '../contract/ai-results-sr.ts';
import { REVIEW_REASONS } from '../contract/reading.ts';
import { decisionSr, decisionSrUid, findingsSr, findingsSrUid, aiResultsSeriesUid, type WrittenSr } from '../dicom/sr/ai-results-sr.ts';
import { EXPLICIT_VR_LITTLE_ENDIAN } from '../dicom/sr/dcmjs-io.ts';
import { AI_RESULTS_SERIES, COMPREHENSIVE_SR, type SourceImage } from '../dicom/sr/measurement-report.ts';
import { COPIED_TAGS, sourceImage, storedSourceImage } from '../dicom/sr/source-attributes.ts';
import { logger, uidHash } from '../log.ts';
import { AI_RESULTS_PUSH_QUEUE, AI_RESULTS_SR_QUEUE, AI_RESULTS_SR_RETRY, aiResultsSrJobId, type AiResultsPushJob, type AiResultsSrJob } from '../queue/ai-results-sr.ts';
import { redisConnection } from '../queue/connection.ts';
import { REQUEST_REDIS_WAIT_MS } from '../queue/enqueue.ts';
import { stopWorkerWithin } from '../queue/worker-stop.ts';
import type { AiResultsSubject, FindingsPage } from '../store/ai-results.ts';
import type { BlobStore } from '../store/blobs.ts';
import type { Store } from '../store/store.ts';
import { parseJob } from './job-contract.ts';
import type { ResultsPush } from './results-push.ts';

/** Finished jobs are kept this long: a second request for the same document within it adds nothing. */
const KEEP = { age: 7 * 24 * 3600, count: 100_000 };
/** Findings read, and jobs added, at a time by reconcile(). */
const RECONCILE_PAGE = 500;
/** Documents written at once. */
const WRITE_CONCURRENCY = 4;
/**
 * Pushes run one at a time: they all go to one destination, where a second push would only
 * wait beside the first when it is slow (up to 30 s, results-push.ts), and a healthy one
 * takes each in milliseconds.
 */
const PUSH_CONCURRENCY = 1;

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
 * Runs in the API role (it needs the store). Contract:
 * - findings: the result job (results-consumer.ts) commits the findings, then queues their
 *   document here and completes once Redis has the job — never before, so a crash in between
 *   is retried with the job. Findings answered at ingest (a model the header rules out) are
 *   committed, then their document queued, by the ingest request, which no job retries:
 *   reconcile() asks again for any lost. This module's worker writes it moments later: the
 *   findings (and the worklist event at their commit) never wait for their SR.
 * - a review: its document is written in the review request, before the answer, so whoever
 *   sees the decision next sees its SR; one that cannot be written then is queued without
 *   waiting for Redis (a review is never held by its SR), and reconcile() asks again for any lost.
 * - every document: its UID and bytes derive from what it records, read from the store when
 *   it is written, so written twice it is stored once (idempotent on SOP Instance UID, one blob
 *   by hash); a queued job's id derives from what it is about, so asked for twice it is queued once.
 *   A write that fails is retried with backoff on the queue, as are the pushes: a failure, or a
 *   destination that is down, delays only itself.
 * - pushes: queued once their document is stored, on a queue of their own with its own worker,
 *   so pushes waiting on a slow or silent archive never hold the writing of the next document.
 */
export function createAiResultsSr(options: AiResultsSrOptions) {
  const { store, blobs } = options;
  const connection = redisConnection(options.redisUrl);
  const queue = new Queue<AiResultsSrJob>(AI_RESULTS_SR_QUEUE, { connection, prefix: options.prefix });
  // A connection of its own, so that stopping one queue's worker (queue/worker-stop.ts) drops only that one's.
  const pushConnection = redisConnection(options.redisUrl);
  const pushQueue = new Queue<AiResultsPushJob>(AI_RESULTS_PUSH_QUEUE, { connection: pushConnection, prefix: options.prefix });
  const optionsOf = (job: AiResultsSrJob | AiResultsPushJob) => ({ jobId: aiResultsSrJobId(job), removeOnComplete: KEEP, removeOnFail: KEEP, ...AI_RESULTS_SR_RETRY[job.kind] });
  const add = async (job: AiResultsSrJob) => {
    await queue.add(job.kind, job, optionsOf(job));
  };
  const addPush = async (job: AiResultsPushJob) => {
    await pushQueue.add(job.kind, job, optionsOf(job));
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
      dicomJson: sr.dicomJson,
    }, actor);
    logger.info({ sr: uidHash(sr.sopInstanceUid), status }, 'AI results SR stored');
    if (!options.push) return;
    // In a request, Redis is waited for briefly (queue/enqueue.ts): the command stays with ioredis until Redis is back.
    const queued = addPush({ kind: 'push', sopInstanceUid: sr.sopInstanceUid, blobSha256 });
    queued.catch((error) => logger.error({ err: error, sr: uidHash(sr.sopInstanceUid) }, 'AI results SR push not queued'));
    await Promise.race([queued, new Promise((resolve) => setTimeout(resolve, REQUEST_REDIS_WAIT_MS).unref())]);
  }

  /** The analysed image from what ingest stored; from its blob (read and parsed whole) only when no usable DICOM JSON was stored. */
  async function sourceOf(subject: AiResultsSubject): Promise<SourceImage> {
    const { copied, ...identity } = subject.source;
    return copied ? storedSourceImage({ ...identity, copied }) : sourceImage(await blobs.get(subject.blobSha256));
  }

  /** The preliminary document of a model's findings on an image; none when consent left no findings. */
  async function writeFindings(sopInstanceUid: string, modelKey: string): Promise<void> {
    const subject = await store.aiResultsSubject(sopInstanceUid, modelKey, COPIED_TAGS);
    if (subject.findings.length === 0) return;
    const sr = findingsSr({ source: await sourceOf(subject), model: subject.findings[0].model, findings: subject.findings, createdAt: subject.createdAt });
    await storeSr(sr, subject, `model:${modelKey}`);
  }

  async function writeReview(reviewId: string): Promise<void> {
    const subject = await store.reviewSubject(reviewId, COPIED_TAGS);
    // The document it supersedes is written first (a no-op when it is stored), so the chain it names exists.
    await writeFindings(subject.sourceSopInstanceUid, subject.modelKey);
    const model = subject.findings[0].model;
    const reasons = new Map<string, string>(REVIEW_REASONS.map((r) => [r.code, r.display]));
    // Person names from the accounts (a login like dr.li is not a name); a reviewer without an account keeps the login.
    const nameOf = (login: string) => subject.reviewerNames.get(login) ?? login;
    const sr = decisionSr({
      source: await sourceOf(subject),
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

  /** Writes a review's document; if that fails, hands it to the queue (retried with backoff) without waiting for Redis. */
  async function writeReviewOrQueue(reviewId: string): Promise<void> {
    try {
      await writeReview(reviewId);
    } catch (error) {
      logger.warn({ err: error, job: 'review' }, 'AI results SR not written; queued to be retried');
      add({ kind: 'review', reviewId }).catch((failure) => logger.error({ err: failure, job: 'review' }, 'AI results SR not queued; reconciliation asks again'));
    }
  }

  const worker = new Worker(AI_RESULTS_SR_QUEUE, async (job) => {
    const data = parseJob(aiResultsSrJob, job.data, 'AI results SR job');
    if (data.kind === 'findings') await writeFindings(data.sopInstanceUid, data.modelKey);
    else if (data.kind === 'review') await writeReview(data.reviewId);
    // A push queued here before pushes had their own queue is moved there (its id kept, so it is added once);
    // without a destination now it is dropped, as the push worker drops one.
    else if (options.push) await addPush(data);
  }, { connection, prefix: options.prefix, concurrency: WRITE_CONCURRENCY, autorun: true });
  const pushWorker = new Worker(AI_RESULTS_PUSH_QUEUE, async (job) => {
    const data = parseJob(aiResultsPushJob, job.data, 'AI results push job');
    // A push queued under an earlier configuration is dropped when no destination is set now.
    if (options.push) await options.push(await blobs.get(data.blobSha256));
  }, { connection: pushConnection, prefix: options.prefix, concurrency: PUSH_CONCURRENCY, autorun: true });
  for (const w of [worker, pushWorker]) {
    w.on('failed', (job, error) => logger.warn({ queue: w.name, job: job?.name, attempts: job?.attemptsMade, err: error }, 'AI results SR job failed (retried while attempts remain)'));
    w.on('error', (error) => logger.error({ queue: w.name, err: error }, 'AI results SR worker error'));
  }

  return {
    queue,
    pushQueue,
    /**
     * Queues the preliminary document of a model's findings on an image, for this module's
     * worker to write, and resolves once Redis has the job (the results consumer calls it once
     * the findings are committed, and completes the result job after it).
     */
    afterFindings: (sopInstanceUid: string, modelKey: string) => add({ kind: 'findings', sopInstanceUid, modelKey }),
    /**
     * Writes the document of a committed review, now (so the reviewer's answer comes after it);
     * if that fails, queues it without waiting for Redis: a review is never held by its SR.
     */
    afterReview: writeReviewOrQueue,
    /**
     * Asks for the documents of the last week's findings and reviews that are not stored, and
     * resolves with how many it asked for (each under its job's id, so one already queued, or
     * finished within KEEP, is not queued again). A review commits before its document; an API
     * process stopped in between, or a write that failed while Redis was away, leaves one without.
     * Findings answered at ingest (pipeline/record-findings.ts) commit before their document is
     * queued, with no job to retry them: a process stopped in between leaves them without. (A
     * worker's findings have that job: the result completes only once their document is queued.)
     * Clinical findings only, a page at a time; shadow findings have no document. Run at start and
     * whenever Redis comes back.
     */
    async reconcile(): Promise<number> {
      const since = new Date(Date.now() - KEEP.age * 1000);
      const queueAll = async (jobs: AiResultsSrJob[]) => {
        if (jobs.length > 0) await queue.addBulk(jobs.map((job) => ({ name: job.kind, data: job, opts: optionsOf(job) })));
      };
      let asked = 0;
      let after: FindingsPage['next'];
      do {
        const page = await store.findingsSince(since, RECONCILE_PAGE, after);
        const stored = new Set(await store.storedInstances(page.subjects.map((s) => findingsSrUid(s.sopInstanceUid, s.model))));
        const missing = page.subjects.filter((s) => !stored.has(findingsSrUid(s.sopInstanceUid, s.model)));
        await queueAll(missing.map((s) => ({ kind: 'findings', sopInstanceUid: s.sopInstanceUid, modelKey: `${s.model.id}@${s.model.version}` })));
        asked += missing.length;
        after = page.next;
      } while (after);
      const ids = await store.reviewsSince(since);
      const stored = new Set(await store.storedInstances(ids.map(decisionSrUid)));
      const missing = ids.filter((id) => !stored.has(decisionSrUid(id)));
      for (let i = 0; i < missing.length; i += RECONCILE_PAGE) {
        await queueAll(missing.slice(i, i + RECONCILE_PAGE).map((reviewId) => ({ kind: 'review', reviewId })));
      }
      return asked + missing.length;
    },
    /**
     * Lets the jobs in hand finish for up to `graceMs`, then drops them to the next start: the
     * writing first, so the pushes it queued reach Redis on a connection still open, then the
     * pushes (one may wait 30 s on a slow archive). At most twice `graceMs` in all.
     */
    async stop(graceMs = 5_000): Promise<void> {
      await stopWorkerWithin(worker, queue, connection, graceMs);
      await stopWorkerWithin(pushWorker, pushQueue, pushConnection, graceMs);
    },
  };
}

export type AiResultsSr = ReturnType<typeof createAiResultsSr>;
