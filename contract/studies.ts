import { z } from 'zod';
import { PRIORITY_BANDS, type PriorityBand } from './priority-bands.ts';
import { finding, review, type FindingInput } from './findings.ts';
import { aiWithheld } from './consent.ts';
import { readerFinding } from './reading.ts';
import { siteId } from './sites.ts';

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
}).meta({ id: 'StudyChange' });

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

/**
 * A study still waiting for its AI result past its level's promise (the triage-policy card's
 * `aiResultTargetMinutes`, counted from upload): the worklist shows "AI delayed" and for how long.
 */
export const aiDelay = z.object({
  level: triageLevel,
  targetMinutes: z.number(),
  /** Whole minutes since upload. */
  waitingMinutes: z.number().int(),
});

/** The triage policy's answer as stored on a study, with the policy card that gave it. */
export const studyTriage = triageResult.extend({
  policy: z.object({ id: z.string(), version: z.string(), sha256: z.string() }),
});

/** A study as the worklist and the study view present it. */
export const studySummary = z.object({
  studyInstanceUid: z.string(),
  patientId: z.string().optional(),
  patientName: z.string().optional(),
  patientSex: z.string().optional(),
  patientAge: z.string().optional(),
  studyDate: z.string().optional(),
  studyDescription: z.string().optional(),
  accessionNumber: z.string().optional(),
  modality: z.string().optional(),
  /** The site (institution) the study belongs to: the uploader's. */
  siteId: z.string(),
  status: studyStatus,
  /** 0–100, higher is read first. */
  priority: z.number(),
  /** One line: what put the study where it is in the worklist. */
  why: z.string(),
  /** `why` in Chinese; falls back to `why` for a study not re-prioritised since it was added. */
  whyZh: z.string(),
  /** Absent until the triage policy has run on the study. */
  triage: studyTriage.optional(),
  /** Present when consent kept AI from some of the study's images: shown in place of findings. */
  aiWithheld: aiWithheld.optional(),
  receivedAt: z.string(),
  /** When the study was received: the clock its SLA runs on. */
  waitingSince: z.string(),
  /** Null once the study is reviewed, or when no triage level is known. */
  sla: sla.nullable(),
  /** Present while the AI result is overdue for the study's level (status pending); null otherwise. */
  aiDelay: aiDelay.nullable(),
}).meta({ id: 'StudySummary' });

export { PRIORITY_BANDS, type PriorityBand } from './priority-bands.ts';

/** `a,b,c` → ['a','b','c']; an empty or absent parameter does not filter. */
const commaList = <T extends z.ZodType<string, string>>(item: T) => z.string().optional()
  .transform((s) => s?.split(',').map((v) => v.trim()).filter(Boolean))
  .transform((list) => (list?.length ? list : undefined))
  .pipe(z.array(item).optional());

/** `GET /v1/worklist?status=pending,ready&modality=CR,DX&priority=urgent,high`: each a comma list, "any of". */
/**
 * `site=a,b`: only studies of these sites (any of); absent, every site the list covers. Shared
 * by the worklist, the research list and the agreement dashboard, each saying which sites it takes.
 */
export const siteFilter = commaList(siteId).meta({ description: 'comma-separated site ids (GET /v1/sites)' });

export const worklistQuery = z.object({
  status: commaList(studyStatus).meta({ description: 'comma-separated statuses: pending, ready, reviewed, failed' }),
  modality: commaList(z.string().regex(/^[A-Z0-9]{1,16}$/, 'a DICOM modality code, e.g. CR')).meta({ description: 'comma-separated DICOM modality codes, e.g. CR,DX' }),
  priority: commaList(z.enum(Object.keys(PRIORITY_BANDS) as [PriorityBand, ...PriorityBand[]])).meta({ description: 'comma-separated priority bands: urgent (≥75), high, routine, low (<25)' }),
  site: siteFilter,
});

export const worklistItem = studySummary.extend({
  findings: z.array(finding),
  errors: z.array(instanceError),
}).meta({ id: 'WorklistItem' });

export const worklist = z.object({ items: z.array(worklistItem) }).meta({ id: 'Worklist' });

/** The image attributes of an instance that a viewer needs to render its frames. */
export const imageAttributes = z.object({
  rows: z.number().int(),
  columns: z.number().int(),
  samplesPerPixel: z.number().int(),
  photometricInterpretation: z.string(),
  bitsAllocated: z.number().int(),
  bitsStored: z.number().int(),
  highBit: z.number().int(),
  pixelRepresentation: z.union([z.literal(0), z.literal(1)]),
  planarConfiguration: z.union([z.literal(0), z.literal(1)]),
  numberOfFrames: z.number().int(),
  rescaleSlope: z.number(),
  rescaleIntercept: z.number(),
  windowCenter: z.number().optional(),
  windowWidth: z.number().optional(),
  /** [row spacing, column spacing] in mm. */
  pixelSpacing: z.tuple([z.number(), z.number()]).optional(),
}).meta({ id: 'ImageAttributes' });

export const studyInstance = z.object({
  sopInstanceUid: z.string(),
  seriesInstanceUid: z.string(),
  modality: z.string().optional(),
  transferSyntaxUid: z.string(),
  /** queued: AI has not answered yet; done: every model answered; failed: one could not read it. */
  status: z.enum(['queued', 'done', 'failed']),
  /** Absent for an object stored without pixel data. */
  image: imageAttributes.optional(),
  /** WADO-RS frames of this instance: append `/1` for the first frame. */
  framesUrl: z.string(),
});

/** A series of the study, with counts of its images: what a large study is summarised by. */
export const seriesSummary = z.object({
  seriesInstanceUid: z.string(),
  modality: z.string().optional(),
  seriesNumber: z.number().int().optional(),
  bodyPart: z.string().optional(),
  instances: z.number().int(),
  /** Images still waiting for AI. */
  queued: z.number().int(),
  /** Images the AI could not read (`errors` lists at most 20 of the study's). */
  failed: z.number().int(),
}).meta({ id: 'SeriesSummary' });

/** Instances in a study answer (and a page's default), and the most one page may hold. */
export const INSTANCE_PAGE = { first: 500, max: 1000 } as const;

/** The keyset cursor of the next page of a study's instances: opaque, passed back as `after`. */
const instanceCursor = z.string().max(2048);

/** `GET /v1/studies/{uid}/instances?after=…&limit=…`: one page of a study's instances, in the order received. */
export const instancePageQuery = z.object({
  after: instanceCursor.optional().meta({ description: 'the `after` (or `instancesAfter`) of the previous page; absent for the first' }),
  limit: z.coerce.number().int().min(1).max(INSTANCE_PAGE.max).default(INSTANCE_PAGE.first)
    .meta({ description: `instances in the page, 1–${INSTANCE_PAGE.max} (default ${INSTANCE_PAGE.first})` }),
});

export const instancePage = z.object({
  instances: z.array(studyInstance),
  /** The next page's cursor; absent on the last page. */
  after: instanceCursor.optional(),
}).meta({ id: 'InstancePage' });

/** `GET /v1/studies/{uid}`: everything the study view shows. */
export const studyDetail = z.object({
  study: studySummary,
  /** Every series of the study with its counts. */
  series: z.array(seriesSummary),
  /** The first INSTANCE_PAGE.first (500) instances in the order received; a larger study's others are paged from `GET /v1/studies/{uid}/instances`. */
  instances: z.array(studyInstance),
  /** Present when the study has more instances than `instances` holds: the next page's cursor. */
  instancesAfter: instanceCursor.optional(),
  /** Each with `reviews`: every decision on it, oldest first. */
  findings: z.array(finding),
  reviews: z.array(review),
  readerFindings: z.array(readerFinding),
  errors: z.array(instanceError),
}).meta({ id: 'StudyDetail' });

export type StudyStatus = z.infer<typeof studyStatus>;
export type TriageLevel = z.infer<typeof triageLevel>;
export type TriageReason = z.infer<typeof triageReason>;
export type TriageResult = z.infer<typeof triageResult>;
export type Sla = z.infer<typeof sla>;
export type AiDelay = z.infer<typeof aiDelay>;
export type InstanceError = z.infer<typeof instanceError>;
export type StudyChangeKind = z.infer<typeof studyChangeKind>;
export type StudyChange = z.infer<typeof studyChange>;
export type StudyTriage = z.infer<typeof studyTriage>;
export type StudySummary = z.infer<typeof studySummary>;
export type WorklistQuery = z.input<typeof worklistQuery>;
export type WorklistItem = z.infer<typeof worklistItem>;
export type Worklist = z.infer<typeof worklist>;
export type ImageAttributes = z.infer<typeof imageAttributes>;
export type StudyInstance = z.infer<typeof studyInstance>;
export type StudyDetail = z.infer<typeof studyDetail>;
export type SeriesSummary = z.infer<typeof seriesSummary>;
export type InstancePage = z.infer<typeof instancePage>;

/**
 * What triage sees of a study when its priority is recomputed: the store builds it inside
 * each study-changing transaction and hands it to the prioritiser the composition root
 * gave it (inference/triage.ts), so neither layer imports the other.
 */
export interface StudySnapshot {
  /**
   * The study's images as triage weighs them: whether there is one, whether one awaits AI,
   * and one the AI could not read. A summary, so re-ranking a 10,000-image study reads no more.
   */
  instances: { any: boolean; queued: boolean; failed?: { sopInstanceUid: string; errorCode?: string } };
  /**
   * Per model version, label and claim (positive, refer, negative, not applicable) the finding
   * triage would pick among them: the most probable one (not applicable: the first received).
   */
  findings: Pick<FindingInput, 'label' | 'display' | 'probability' | 'positive' | 'refer' | 'operatingPoint' | 'model' | 'applicability'>[];
  /** The latest bedside assessment recorded for the study, as the triage layer stored it. */
  clinical?: unknown;
}

export type Prioritise = (study: StudySnapshot) => { priority: number; why: string; whyZh: string; detail?: unknown };
