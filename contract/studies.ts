import { z } from 'zod';

/**
 * A study's state as the worklist, the study view and the live event stream present it.
 */

/** pending: an image waits for AI; ready: a human read is due; reviewed: every AI claim has a decision; failed: the AI could not read an image and no claim was made. */
export const studyStatus = z.enum(['pending', 'ready', 'reviewed', 'failed']);

/** An image the AI could not read, with the typed error's code. */
export const instanceError = z.object({
  sopInstanceUid: z.string(),
  code: z.string(),
  message: z.string(),
});

/** What changed on a study; announced on `GET /v1/events` after the change is committed. */
export const studyChangeKind = z.enum(['received', 'finding', 'failure', 'review', 'triage', 'reader-finding']);

export const studyChange = z.object({
  studyInstanceUid: z.string(),
  change: studyChangeKind,
});

export type StudyStatus = z.infer<typeof studyStatus>;
export type InstanceError = z.infer<typeof instanceError>;
export type StudyChangeKind = z.infer<typeof studyChangeKind>;
export type StudyChange = z.infer<typeof studyChange>;
