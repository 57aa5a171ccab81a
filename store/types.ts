/** Shapes the store reads and writes; those that cross the queue or HTTP are the contract's. */
export type { Applicability, ApplicabilityNote, Finding, FindingInput, ModelProvenance, Review } from '../contract/findings.ts';
import type { Finding, Review } from '../contract/findings.ts';
import type { Region } from '../contract/reading.ts';
export type { Region } from '../contract/reading.ts';
export type { InstanceError, Prioritise, StudyChange, StudyChangeKind, StudySnapshot, StudyStatus } from '../contract/studies.ts';
import type { SiteScope } from './sites.ts';
import type { WithheldCode } from '../contract/consent.ts';
import type { ImageAttributes, InstanceError, StudyStatus, StudySummary as PresentedStudySummary } from '../contract/studies.ts';

export interface StudyFields {
  studyInstanceUid: string;
  patientId?: string;
  patientName?: string;
  patientSex?: string;
  patientAge?: string;
  studyDate?: string;
  studyDescription?: string;
  accessionNumber?: string;
  modality?: string;
}

export interface NewInstance {
  study: StudyFields;
  /** The uploader's site: a new study is filed under it; a study of another site refuses the instance. */
  siteId: string;
  seriesInstanceUid: string;
  seriesNumber?: number;
  bodyPart?: string;
  sopInstanceUid: string;
  sopClassUid: string;
  transferSyntaxUid: string;
  modality?: string;
  blobSha256: string;
  byteSize: number;
  image?: ImageAttributes;
  /** Models that will read this instance; none means there is nothing for AI to do. */
  pendingModels: string[];
  /** Why consent keeps AI from this instance, as ingest found it (the write asks again). */
  aiWithheld?: WithheldCode;
  /** Its attributes as DICOM JSON (dicom/dicom-json.ts) and the tags left out above the cap; absent when they could not be read. */
  dicomJson?: { dataset: Record<string, unknown>; omitted: string[] };
}

/** A finding a reader adds that the AI did not report; `label` is one of the API's coded labels. */
export interface NewReaderFinding {
  label: string;
  sopInstanceUid?: string;
  /** Only with `sopInstanceUid`: it must lie inside that image. */
  region?: Region;
  comment?: string;
  reviewer: string;
}

export interface ReaderFindingRecord extends NewReaderFinding {
  id: string;
  studyInstanceUid: string;
  createdAt: string;
}



/**
 * A study as stored. `triage` is what the prioritiser wrote (opaque here: store/ holds no
 * clinical logic); the API checks it against the contract and adds the SLA clock when it
 * presents the study.
 */
export type StudySummary = Omit<PresentedStudySummary, 'waitingSince' | 'sla' | 'aiDelay' | 'triage'> & { triage?: unknown };

export interface WorklistItem extends StudySummary {
  findings: Finding[];
  errors: InstanceError[];
}

export interface InstanceRecord {
  sopInstanceUid: string;
  seriesInstanceUid: string;
  studyInstanceUid: string;
  modality?: string;
  transferSyntaxUid: string;
  blobSha256: string;
  image?: ImageAttributes;
  status: 'queued' | 'done' | 'failed';
}

/** A series of a study and how many of its images there are, await AI and failed. */
export type { SeriesSummary } from '../contract/studies.ts';
import type { SeriesSummary } from '../contract/studies.ts';

export interface StudyDetail {
  study: StudySummary;
  series: SeriesSummary[];
  /** The first page of the study's instances; `instancesAfter` is the next page's cursor (absent: that was all). */
  instances: InstanceRecord[];
  instancesAfter?: string;
  findings: Finding[];
  reviews: Review[];
  readerFindings: ReaderFindingRecord[];
  errors: InstanceError[];
}

/** Worklist filters; each list means "any of", an absent one does not filter. */
export interface WorklistFilter {
  /** Only studies of these sites: the reader's. */
  sites: SiteScope;
  statuses?: StudyStatus[];
  modalities?: string[];
  /** Half-open priority ranges [min, max); an absent end is unbounded. */
  priorityRanges?: { min?: number; max?: number }[];
  /** Only studies whose patient's consent lets them leave the site: what model teams are shown. */
  shareableOnly?: boolean;
}


export interface AgreementQuery {
  /** Findings created at or after this time. */
  from?: Date;
  /** Findings created before this time. */
  to?: Date;
  /** Only findings on studies of these sites, and CDS Hooks cards issued for one of them; undefined: all. */
  sites?: readonly string[];
  /** One model id (every version). */
  modelId?: string;
}

/**
 * One (model version, label): counts over findings in the query window; each finding's latest review is its decision.
 * From CDS Hooks feedback, the same counts over the cards issued: a card is a "finding", its latest feedback the decision.
 */
export interface AgreementRow {
  /** Whose decisions: radiologists' reviews of findings, or clinicians' feedback on CDS Hooks cards in their EHR. */
  source: 'reader-review' | 'cds-hooks';
  modelId: string;
  modelVersion: string;
  label: string;
  display: string;
  findings: number;
  decided: number;
  accepted: number;
  overridden: number;
  amended: number;
  timeToDecisionSeconds: { median: number; p90: number } | null;
  /** Most frequent first. */
  overrideReasons: { code: string; count: number }[];
  /** By UTC day of the decision, ascending. */
  byDay: { date: string; decided: number; accepted: number }[];
  /** Reader-added findings on the studies this model version read. */
  readerFindings: number;
}

export const AI_ASSISTED_NOTICE = 'AI-assisted finding: for a clinician to confirm or override; not a diagnosis.';
export const AI_ASSISTED_NOTICE_ZH = 'AI 辅助发现：供临床医生确认或否决，不构成诊断。';
