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
 * Runs in the API role (it needs the store) on its own BullMQ queue: the findings and the
 * review are committed before their document is asked for, so a document that fails, or a
 * destination that is down, delays only itself. Documents are read from the store when the
 * job runs, and their UIDs and bytes derive from what they record: a job that runs twice
 * stores one instance (idempotent on SOP Instance UID, one blob by hash).
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
    if (options.push) await add({ kind: 'push', sopInstanceUid: sr.sopInstanceUid, blobSha256 });
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
    /** Asks for the preliminary document of a model's findings on an image (results consumer, after they are stored). */
    afterFindings: (sopInstanceUid: string, modelKey: string) => add({ kind: 'findings', sopInstanceUid, modelKey }),
    /** Asks for the document of a clinician's review (after it is committed). */
    afterReview: (reviewId: string) => add({ kind: 'review', reviewId }),
    /**
     * Asks again for the documents of the reviews of the last week (what finished jobs are
     * kept for, so those already written add nothing): a review commits before its request
     * reaches Redis, and an API process stopped in between would otherwise leave it without
     * one. Run at start and whenever Redis comes back. Findings need no such pass: their
     * result job completes only once the request is queued.
     */
    async reconcile(): Promise<number> {
      const ids = await store.reviewsSince(new Date(Date.now() - KEEP.age * 1000));
      for (let i = 0; i < ids.length; i += 500) {
        await queue.addBulk(ids.slice(i, i + 500).map((reviewId) => {
          const job: AiResultsSrJob = { kind: 'review', reviewId };
          return { name: job.kind, data: job, opts: optionsOf(job) };
        }));
      }
      return ids.length;
    },
    /**
     * Lets the job in hand finish for up to `graceMs` (a push may wait 30 s on a slow archive), then
     * drops the connection under it: its lock lapses and the next start runs it again, to the same
     * effect. (BullMQ's `close(true)` after a `close()` only returns the first, which waits for the job.)
     */
    async stop(graceMs = 5_000) {
      const closed = worker.close();
      const late = await Promise.race([closed.then(() => false), new Promise<boolean>((resolve) => setTimeout(resolve, graceMs, true).unref())]);
      await queue.close();
      if (late) {
        closed.catch(() => undefined);
        connection.disconnect();
      } else {
        await connection.quit();
      }
    },
  };
}

export type AiResultsSr = ReturnType<typeof createAiResultsSr>;
