import { createHash } from 'node:crypto';
import type { JobsOptions } from 'bullmq';
import type { AiResultsPushJob, AiResultsSrJob } from '../contract/ai-results-sr.ts';

export type { AiResultsPushJob, AiResultsSrJob } from '../contract/ai-results-sr.ts';

/** The queue of AI results SR writing, under the configured prefix like the others. */
export const AI_RESULTS_SR_QUEUE = 'ai-results-sr';
/**
 * The queue of pushes of written SRs to the destination: apart from the writing, so pushes
 * waiting on a slow or silent archive (up to 30 s each, pipeline/results-push.ts) never hold
 * a document's writing behind them.
 */
export const AI_RESULTS_PUSH_QUEUE = 'ai-results-sr-push';

/**
 * Derived from what the job is about: the same findings, review or push is added once while
 * BullMQ keeps the job. A push's id is the one it had in the SR queue, so one moved from there
 * is added once too.
 */
export function aiResultsSrJobId(job: AiResultsSrJob | AiResultsPushJob): string {
  const about = job.kind === 'findings' ? `${job.sopInstanceUid}|${job.modelKey}` : job.kind === 'review' ? job.reviewId : job.sopInstanceUid;
  return `sr-${job.kind}-${createHash('sha256').update(about).digest('hex').slice(0, 40)}`;
}

/**
 * Writing retries a few times (the store or the blob folder may hiccup); pushing keeps
 * trying for about a day and a half (18 attempts, 1 s doubling: 2^17 - 1 s ≈ 36 h in all),
 * since a PACS being down for hours must not lose a result.
 */
export const AI_RESULTS_SR_RETRY: Record<AiResultsSrJob['kind'] | AiResultsPushJob['kind'], Pick<JobsOptions, 'attempts' | 'backoff'>> = {
  findings: { attempts: 8, backoff: { type: 'exponential', delay: 500 } },
  review: { attempts: 8, backoff: { type: 'exponential', delay: 500 } },
  push: { attempts: 18, backoff: { type: 'exponential', delay: 1000 } },
};
