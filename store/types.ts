/** Shapes the store reads and writes. They mirror docs/api.md so routes can return them as they are. */

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
  seriesInstanceUid: string;
  seriesNumber?: number;
  bodyPart?: string;
  sopInstanceUid: string;
  sopClassUid: string;
  transferSyntaxUid: string;
  modality?: string;
  blobSha256: string;
  byteSize: number;
  image?: Record<string, unknown>;
  /** Models that will read this instance; none means there is nothing for AI to do. */
  pendingModels: string[];
}

export interface ModelProvenance {
  id: string;
  version: string;
  weightsSha256: string;
  preprocessing: string;
}

export interface FindingInput {
  id: string;
  label: string;
  display: string;
  probability: number;
  positive: boolean;
  /** Inside the model's refer band: too uncertain to hint either way; a human read decides. */
  refer: boolean;
  operatingPoint: { name: string; threshold: number };
  model: ModelProvenance;
  timingMs: Record<string, number>;
  /** Coarse map over `region` (the square of the original image the model saw), values in [0, 1]. */
  heatmap?: { width: number; height: number; data: number[]; region: { left: number; top: number; size: number } };
}

export interface Review {
  id: string;
  findingId: string;
  decision: 'accept' | 'override';
  reasonCode?: string;
  comment?: string;
  reviewer: string;
  createdAt: string;
}

export interface Finding extends FindingInput {
  studyInstanceUid: string;
  sopInstanceUid: string;
  aiAssisted: string;
  createdAt: string;
  /** The latest decision on this finding; earlier ones stay in `reviews` and the audit trail. */
  review: Review | null;
}

export type StudyStatus = 'pending' | 'ready' | 'reviewed' | 'failed';

export interface InstanceError {
  sopInstanceUid: string;
  code: string;
  message: string;
}

export interface StudySummary extends StudyFields {
  status: StudyStatus;
  priority: number;
  why: string;
  /** What triage concluded (level, reasons), when a policy produced more than a priority. */
  triage?: Record<string, unknown>;
  receivedAt: string;
}

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
  image?: Record<string, unknown>;
  status: 'queued' | 'done' | 'failed';
}

export interface StudyDetail {
  study: StudySummary;
  instances: InstanceRecord[];
  findings: Finding[];
  reviews: Review[];
  errors: InstanceError[];
}

/** What triage sees of a study when its priority is recomputed. */
export interface StudySnapshot {
  instances: { sopInstanceUid: string; status: 'queued' | 'done' | 'failed'; errorCode?: string }[];
  findings: Pick<FindingInput, 'label' | 'display' | 'probability' | 'positive' | 'refer' | 'operatingPoint' | 'model'>[];
  /** The latest bedside assessment recorded for the study, as the triage layer stored it. */
  clinical?: unknown;
}

export type Prioritise = (study: StudySnapshot) => { priority: number; why: string; detail?: unknown };

export const AI_ASSISTED_NOTICE = 'AI-assisted finding: for a clinician to confirm or override; not a diagnosis.';
