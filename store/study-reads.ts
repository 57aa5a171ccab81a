/**
 * What readers see of a study: the worklist, one study's detail, an instance. The study,
 * instance and AI finding rows and their mappers live here; the writes are in studies.ts.
 */
import { aiWithheldNotice, type AiWithheld, type WithheldCode } from '../contract/consent.ts';
import type { ImageAttributes } from '../contract/studies.ts';
import type { Queryable } from './db.ts';
import { readerFindingFromRow, reviewFromRow, type ReaderFindingRow, type ReviewRow } from './reviews.ts';
import { iso, NotFoundError, optional, type StoreContext } from './shared.ts';
import { sitesParam, type SiteScope } from './sites.ts';
import {
  AI_ASSISTED_NOTICE,
  AI_ASSISTED_NOTICE_ZH,
  type Finding,
  type FindingInput,
  type InstanceError,
  type InstanceRecord,
  type StudyDetail,
  type StudyStatus,
  type StudySummary,
  type WorklistFilter,
  type WorklistItem,
} from './types.ts';

/** The study reads, each given the store's context first (bindContext). */
export const studyReads = {
  /** Instances of a study still waiting for AI: their jobs' priority follows the study's. */
  async queuedInstances({ db }: StoreContext, studyInstanceUid: string): Promise<{ sopInstanceUid: string; modality?: string }[]> {
    const rows = await db.query<{ sop_instance_uid: string; modality: string | null }>(
      `select sop_instance_uid, modality from instances where study_instance_uid = $1 and status = 'queued'`, [studyInstanceUid]);
    return rows.rows.map((r) => ({ sopInstanceUid: r.sop_instance_uid, modality: optional(r.modality) }));
  },

  /**
   * Instances still waiting for some model's answer, in UID order after `after` (one page):
   * what reconciliation holds against the queue, to re-queue the jobs Redis lost.
   */
  async instancesAwaitingModels({ db }: StoreContext, after = '', limit = 500): Promise<AwaitingInstance[]> {
    const { rows } = await db.query<{ sop_instance_uid: string; study_instance_uid: string; blob_sha256: string; pending_models: string[]; priority: number }>(
      `select i.sop_instance_uid, i.study_instance_uid, i.blob_sha256, i.pending_models, s.priority
         from instances i join studies s on s.study_instance_uid = i.study_instance_uid
        where i.status = 'queued' and cardinality(i.pending_models) > 0 and i.sop_instance_uid > $1
        order by i.sop_instance_uid limit $2`, [after, limit]);
    return rows.map((r) => ({ sopInstanceUid: r.sop_instance_uid, studyInstanceUid: r.study_instance_uid, blobSha256: r.blob_sha256, pendingModels: r.pending_models, priority: Number(r.priority) }));
  },

  /** Studies that still need a human first, in triage order; then reviewed ones. Filters apply before the limit. */
  async getWorklist({ db }: StoreContext, filter: WorklistFilter, limit = 200): Promise<WorklistItem[]> {
    const ranges = filter.priorityRanges;
    const studies = await db.query<StudyRow>(
      `select * from (select s.*, ${STUDY_STATUS_SQL} as status from studies s where $6::text[] is null or s.site_id = any($6)) s
        where ($1::text[] is null or s.status = any($1))
          and ($2::text[] is null or s.modality = any($2)
               or exists (select 1 from instances i where i.study_instance_uid = s.study_instance_uid and i.modality = any($2)))
          and ($3::float8[] is null or exists (
               select 1 from unnest($3::float8[], $4::float8[]) as band(lo, hi)
                where (band.lo is null or s.priority >= band.lo) and (band.hi is null or s.priority < band.hi)))
          and ($7::boolean is not true or consent_withheld(s.site_id, s.patient_id, 'sharing') is null)
        order by s.status = 'reviewed', s.priority desc, s.received_at asc
        limit $5`,
      [filter.statuses ?? null, filter.modalities ?? null, ranges?.map((r) => r.min ?? null) ?? null, ranges?.map((r) => r.max ?? null) ?? null, limit, sitesParam(filter.sites), filter.shareableOnly ?? false]);
    return hydrate(db, studies.rows);
  },

  /** The study, if it exists within `scope` (a study of another site does not exist for the caller). */
  async getStudy({ db }: StoreContext, studyInstanceUid: string, scope: SiteScope): Promise<StudyDetail> {
    const studies = await db.query<StudyRow>(`select s.*, ${STUDY_STATUS_SQL} as status from studies s
      where study_instance_uid = $1 and ($2::text[] is null or s.site_id = any($2))`, [studyInstanceUid, sitesParam(scope)]);
    if (!studies.rows[0]) throw new NotFoundError(`study ${studyInstanceUid} does not exist`);
    const [item] = await hydrate(db, studies.rows);
    const instances = await db.query<InstanceRow>('select * from instances where study_instance_uid = $1 order by received_at', [studyInstanceUid]);
    const reviews = (await db.query<ReviewRow>(
      `select r.* from reviews r join findings f on f.id = r.finding_id where f.study_instance_uid = $1 order by r.id`, [studyInstanceUid])).rows.map(reviewFromRow);
    const readerFindings = await db.query<ReaderFindingRow>('select * from reader_findings where study_instance_uid = $1 order by id', [studyInstanceUid]);
    const { findings, errors, ...study } = item;
    return {
      study,
      instances: instances.rows.map(instanceFromRow),
      findings: findings.map((f) => ({ ...f, reviews: reviews.filter((r) => r.findingId === f.id) })),
      reviews,
      readerFindings: readerFindings.rows.map(readerFindingFromRow),
      errors,
    };
  },

  /** The instance, if its study is within `scope`. */
  async getInstance({ db }: StoreContext, sopInstanceUid: string, scope: SiteScope): Promise<InstanceRecord> {
    const rows = await db.query<InstanceRow>(`select i.* from instances i join studies s on s.study_instance_uid = i.study_instance_uid
      where i.sop_instance_uid = $1 and ($2::text[] is null or s.site_id = any($2))`, [sopInstanceUid, sitesParam(scope)]);
    if (!rows.rows[0]) throw new NotFoundError(`instance ${sopInstanceUid} does not exist`);
    return instanceFromRow(rows.rows[0]);
  },
};

/** Attaches findings (with their latest review), errors and a derived status to study rows. */
async function hydrate(db: Queryable, studies: StudyRow[]): Promise<WorklistItem[]> {
  if (studies.length === 0) return [];
  const uids = studies.map((s) => s.study_instance_uid);
  const findings = await db.query<FindingRow & { review: ReviewRow | null }>(
    `select f.*, (select to_jsonb(r) from reviews r where r.finding_id = f.id order by r.id desc limit 1) as review
       from findings f where f.study_instance_uid = any($1) order by f.probability desc nulls last`, [uids]);
  const instances = await db.query<InstanceRow>('select * from instances where study_instance_uid = any($1)', [uids]);
  return studies.map((row) => {
    const studyFindings = findings.rows.filter((f) => f.study_instance_uid === row.study_instance_uid).map((f) => ({
      ...findingFromRow(f),
      review: f.review ? reviewFromRow(f.review) : null,
    }));
    const studyInstances = instances.rows.filter((i) => i.study_instance_uid === row.study_instance_uid);
    const errors: InstanceError[] = studyInstances
      .filter((i) => i.status === 'failed')
      .map((i) => ({ sopInstanceUid: i.sop_instance_uid, code: i.error_code ?? 'UNKNOWN', message: i.error_message ?? '' }));
    return { ...studyFromRow(row), ...aiWithheldOf(studyInstances), findings: studyFindings, errors };
  });
}

/**
 * A study's status, in SQL so the worklist filters and orders by it before its limit
 * (`s` is the studies row): pending while any image waits for AI; without findings that
 * make a claim ("not applicable" ones make none), failed if the AI could not read an
 * image, else ready for a human read; reviewed once every claim has a decision.
 */
const STUDY_STATUS_SQL = `case
  when exists (select 1 from instances i where i.study_instance_uid = s.study_instance_uid and i.status = 'queued') then 'pending'
  when not exists (select 1 from findings f where f.study_instance_uid = s.study_instance_uid and f.probability is not null)
    then case when exists (select 1 from instances i where i.study_instance_uid = s.study_instance_uid and i.status = 'failed') then 'failed' else 'ready' end
  when exists (select 1 from findings f where f.study_instance_uid = s.study_instance_uid and f.probability is not null
                 and not exists (select 1 from reviews r where r.finding_id = f.id)) then 'ready'
  else 'reviewed' end`;

interface StudyRow {
  study_instance_uid: string;
  patient_id: string | null;
  patient_name: string | null;
  patient_sex: string | null;
  patient_age: string | null;
  study_date: string | null;
  study_description: string | null;
  accession_number: string | null;
  modality: string | null;
  site_id: string;
  priority: number;
  why: string;
  why_zh: string;
  triage: Record<string, unknown> | null;
  received_at: Date | string;
  status: StudyStatus;
}

/** An instance some model has not answered yet, with what its read-assist jobs carry. */
export interface AwaitingInstance {
  sopInstanceUid: string;
  studyInstanceUid: string;
  blobSha256: string;
  /** `id@version` of each model still to answer. */
  pendingModels: string[];
  priority: number;
}

export interface InstanceRow {
  sop_instance_uid: string;
  series_instance_uid: string;
  study_instance_uid: string;
  modality: string | null;
  transfer_syntax_uid: string;
  blob_sha256: string;
  image: ImageAttributes | null;
  status: 'queued' | 'done' | 'failed';
  error_code: string | null;
  error_message: string | null;
  ai_withheld: WithheldCode | null;
}

export interface FindingRow {
  id: string;
  sop_instance_uid: string;
  study_instance_uid: string;
  label: string;
  display: string;
  probability: number | null;
  positive: boolean;
  refer: boolean;
  operating_point: FindingInput['operatingPoint'];
  model: FindingInput['model'];
  timing_ms: Record<string, number>;
  heatmap: FindingInput['heatmap'] | null;
  applicability: FindingInput['applicability'] | null;
  created_at: Date | string;
}

function studyFromRow(row: StudyRow): StudySummary {
  return {
    studyInstanceUid: row.study_instance_uid,
    patientId: optional(row.patient_id),
    patientName: optional(row.patient_name),
    patientSex: optional(row.patient_sex),
    patientAge: optional(row.patient_age),
    studyDate: optional(row.study_date),
    studyDescription: optional(row.study_description),
    accessionNumber: optional(row.accession_number),
    modality: optional(row.modality),
    siteId: row.site_id,
    status: row.status,
    priority: row.priority,
    why: row.why,
    whyZh: row.why_zh || row.why,
    triage: optional(row.triage),
    receivedAt: iso(row.received_at),
  };
}

/** The notice for a study some of whose images consent kept from AI (the first image's reason speaks for all). */
function aiWithheldOf(instances: InstanceRow[]): { aiWithheld?: AiWithheld } {
  const withheld = instances.filter((i) => i.ai_withheld !== null);
  return withheld.length === 0 ? {} : { aiWithheld: aiWithheldNotice(withheld[0].ai_withheld!, withheld.length) };
}

function instanceFromRow(row: InstanceRow): InstanceRecord {
  return {
    sopInstanceUid: row.sop_instance_uid,
    seriesInstanceUid: row.series_instance_uid,
    studyInstanceUid: row.study_instance_uid,
    modality: optional(row.modality),
    transferSyntaxUid: row.transfer_syntax_uid,
    blobSha256: row.blob_sha256,
    image: optional(row.image),
    status: row.status,
  };
}

function findingFromRow(row: FindingRow): Finding {
  return {
    id: row.id,
    studyInstanceUid: row.study_instance_uid,
    sopInstanceUid: row.sop_instance_uid,
    label: row.label,
    display: row.display,
    probability: row.probability,
    positive: row.positive,
    refer: row.refer,
    operatingPoint: row.operating_point,
    model: row.model,
    timingMs: row.timing_ms,
    heatmap: optional(row.heatmap),
    applicability: optional(row.applicability),
    aiAssisted: AI_ASSISTED_NOTICE,
    aiAssistedZh: AI_ASSISTED_NOTICE_ZH,
    createdAt: iso(row.created_at),
    review: null,
  };
}
