import { z } from 'zod';
import type { FindingInput } from './findings.ts';

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

/** The Chinese four-level emergency triage scale: I 濒危, II 危重, III 急症, IV 非急症. */
export const triageLevel = z.enum(['I', 'II', 'III', 'IV']);

/** One reason the triage policy gives, in both languages, with the points it weighed. */
export const triageReason = z.object({ code: z.string(), text: z.string(), textZh: z.string(), weight: z.number() });

/** What the triage policy concluded for a patient or study (inference/triage-policy). */
export const triageResult = z.object({
  priority: z.number(),
  level: triageLevel,
  levelDisplay: z.string(),
  levelDisplayZh: z.string(),
  news2Band: z.string().optional(),
  /** Most important first: rules by their floor, then contributions by the points they added. */
  reasons: z.array(triageReason),
  /** One line for a worklist row, e.g. "pneumonia p=0.91 · NEWS2 7 (high)". */
  why: z.string(),
  /** The same line in Chinese. */
  whyZh: z.string(),
});

/** Time waiting against the reading target of the study's triage level (from the triage-policy card). */
export const sla = z.object({
  level: triageLevel,
  targetMinutes: z.number(),
  dueAt: z.string(),
  breached: z.boolean(),
});

export type StudyStatus = z.infer<typeof studyStatus>;
export type TriageLevel = z.infer<typeof triageLevel>;
export type TriageReason = z.infer<typeof triageReason>;
export type TriageResult = z.infer<typeof triageResult>;
export type Sla = z.infer<typeof sla>;
export type InstanceError = z.infer<typeof instanceError>;
export type StudyChangeKind = z.infer<typeof studyChangeKind>;
export type StudyChange = z.infer<typeof studyChange>;

/**
 * What triage sees of a study when its priority is recomputed: the store builds it inside
 * each study-changing transaction and hands it to the prioritiser the composition root
 * gave it (inference/triage.ts), so neither layer imports the other.
 */
export interface StudySnapshot {
  instances: { sopInstanceUid: string; status: 'queued' | 'done' | 'failed'; errorCode?: string }[];
  findings: Pick<FindingInput, 'label' | 'display' | 'probability' | 'positive' | 'refer' | 'operatingPoint' | 'model' | 'applicability'>[];
  /** The latest bedside assessment recorded for the study, as the triage layer stored it. */
  clinical?: unknown;
}

export type Prioritise = (study: StudySnapshot) => { priority: number; why: string; whyZh: string; detail?: unknown };
