/**
 * What readers see of a study: the worklist, one study's detail, an instance. The study,
 * instance and AI finding rows and their mappers live here; the writes are in studies.ts.
 * Past 300 lines because the worklist, its bounded hydration and the paged study read share
 * these row types and mappers; splitting them would export the rows. A study's status is
 * stored (migration 027 study_status, kept by the writes: studies.ts storePriority, reviews.ts),
 * so the worklist orders by it through an index.
 */
import { aiWithheldNotice, type AiWithheld, type WithheldCode } from '../contract/consent.ts';
import { INSTANCE_PAGE, type ImageAttributes } from '../contract/studies.ts';
import type { Queryable } from './db.ts';
import { readerFindingFromRow, reviewFromRow, type ReaderFindingRow, type ReviewRow } from './reviews.ts';
import { consentOfStudies } from './consent.ts';
import { InvalidReferenceError, iso, NotFoundError, optional, type StoreContext } from './shared.ts';
import { sitesParam, type SiteScope } from './sites.ts';
import { CLINICAL_FINDINGS } from './clinical-findings.ts';
import {
  AI_ASSISTED_NOTICE,
  AI_ASSISTED_NOTICE_ZH,
  type Finding,
  type FindingInput,
  type InstanceError,
  type InstanceRecord,
  type SeriesSummary,
  type StudyDetail,
  type StudyStatus,
  type StudySummary,
  type WorklistFilter,
  type WorklistItem,
} from './types.ts';

const SHARING = consentOfStudies('sharing');

/** The study reads, each given the store's context first (bindContext). */
export const studyReads = {
  /** Instances of a study still waiting for AI, with the clinical runs (model keys) they wait for: their jobs' priority follows the study's. */
  async queuedInstances({ db }: StoreContext, studyInstanceUid: string): Promise<{ sopInstanceUid: string; pendingModels: string[] }[]> {
    const rows = await db.query<{ sop_instance_uid: string; pending_models: string[] }>(
      `select sop_instance_uid, pending_models from instances where study_instance_uid = $1 and status = 'queued'`, [studyInstanceUid]);
    return rows.rows.map((r) => ({ sopInstanceUid: r.sop_instance_uid, pendingModels: r.pending_models }));
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
    const { sql, params } = worklistStatement(filter, limit);
    return hydrate(db, (await db.query<StudyRow>(sql, params)).rows);
  },

  /** The study, if it exists within `scope` (a study of another site does not exist for the caller). */
  async getStudy({ db }: StoreContext, studyInstanceUid: string, scope: SiteScope): Promise<StudyDetail> {
    const studies = await db.query<StudyRow>(`select s.* from studies s
      where study_instance_uid = $1 and ($2::text[] is null or s.site_id = any($2))`, [studyInstanceUid, sitesParam(scope)]);
    if (!studies.rows[0]) throw new NotFoundError(`study ${studyInstanceUid} does not exist`);
    const [item] = await hydrate(db, studies.rows);
    const page = await instancePage(db, studyInstanceUid);
    const series = await db.query<SeriesRow>(
      `select r.series_instance_uid, r.modality, r.series_number, r.body_part, count(i.*)::int as instances,
              (count(*) filter (where i.status = 'queued'))::int as queued, (count(*) filter (where i.status = 'failed'))::int as failed
         from series r left join instances i on i.series_instance_uid = r.series_instance_uid
        where r.study_instance_uid = $1 group by r.series_instance_uid order by r.series_number nulls last, r.series_instance_uid`, [studyInstanceUid]);
    const reviews = (await db.query<ReviewRow>(
      `select r.* from reviews r join ${CLINICAL_FINDINGS} f on f.id = r.finding_id where f.study_instance_uid = $1 order by r.id`, [studyInstanceUid])).rows.map(reviewFromRow);
    const readerFindings = await db.query<ReaderFindingRow>('select * from reader_findings where study_instance_uid = $1 order by id', [studyInstanceUid]);
    const { findings, errors, ...study } = item;
    return {
      study,
      series: series.rows.map(seriesFromRow),
      instances: page.instances,
      ...(page.after && { instancesAfter: page.after }),
      findings: findings.map((f) => ({ ...f, reviews: reviews.filter((r) => r.findingId === f.id) })),
      reviews,
      readerFindings: readerFindings.rows.map(readerFindingFromRow),
      errors,
    };
  },

  /**
   * The study with every one of its instances, however many, read a page at a time: for an
   * export that must name each image (the accountability bundle), never for a screen.
   */
  async getWholeStudy(context: StoreContext, studyInstanceUid: string, scope: SiteScope): Promise<StudyDetail> {
    const { instancesAfter, ...detail } = await studyReads.getStudy(context, studyInstanceUid, scope);
    for (let after = instancesAfter; after;) {
      const page = await instancePage(context.db, studyInstanceUid, after, INSTANCE_PAGE.max);
      detail.instances.push(...page.instances);
      after = page.after;
    }
    return detail;
  },

  /**
   * One page of a study's instances in the order they were received, after the cursor
   * `after` (the previous page's); the answer's `after` is absent on the last page.
   * NotFoundError if the study does not exist within `scope`.
   */
  async studyInstances({ db }: StoreContext, studyInstanceUid: string, scope: SiteScope, after?: string, limit: number = INSTANCE_PAGE.first): Promise<InstancePage> {
    const study = await db.query('select 1 from studies where study_instance_uid = $1 and ($2::text[] is null or site_id = any($2))', [studyInstanceUid, sitesParam(scope)]);
    if (study.rows.length === 0) throw new NotFoundError(`study ${studyInstanceUid} does not exist`);
    return instancePage(db, studyInstanceUid, after, limit);
  },

  /** The instance, if its study is within `scope`. */
  async getInstance({ db }: StoreContext, sopInstanceUid: string, scope: SiteScope): Promise<InstanceRecord> {
    const rows = await db.query<InstanceRow>(`select i.* from instances i join studies s on s.study_instance_uid = i.study_instance_uid
      where i.sop_instance_uid = $1 and ($2::text[] is null or s.site_id = any($2))`, [sopInstanceUid, sitesParam(scope)]);
    if (!rows.rows[0]) throw new NotFoundError(`instance ${sopInstanceUid} does not exist`);
    return instanceFromRow(rows.rows[0]);
  },
};

/** Keyset paging on (received_at, UID), by index: every page costs the same, however deep. */
async function instancePage(db: Queryable, studyInstanceUid: string, after?: string, limit: number = INSTANCE_PAGE.first): Promise<InstancePage> {
  const [receivedAt, sopInstanceUid] = after ? decodeCursor(after) : [null, null];
  const { rows } = await db.query<InstanceRow & { cursor: string }>(
    `select i.*, to_char(i.received_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor from instances i
      where i.study_instance_uid = $1 and ($2::timestamptz is null or (i.received_at, i.sop_instance_uid) > ($2::timestamptz, $3::text))
      order by i.received_at, i.sop_instance_uid limit $4`, [studyInstanceUid, receivedAt, sopInstanceUid, limit + 1]);
  const shown = rows.slice(0, limit);
  const last = shown.at(-1);
  return { instances: shown.map(instanceFromRow), ...(rows.length > limit && last && { after: encodeCursor(last.cursor, last.sop_instance_uid) }) };
}

/** Attaches findings (with their latest review) and errors to study rows. */
async function hydrate(db: Queryable, studies: StudyRow[]): Promise<WorklistItem[]> {
  if (studies.length === 0) return [];
  const uids = studies.map((s) => s.study_instance_uid);
  const findings = await db.query<FindingRow & { review: ReviewRow | null }>(
    `select f.*, (select to_jsonb(r) from reviews r where r.finding_id = f.id order by r.id desc limit 1) as review
       from ${CLINICAL_FINDINGS} f where f.study_instance_uid = any($1) order by f.probability desc nulls last`, [uids]);
  // Only failed images, and at most ERRORS_SHOWN a study: a CT whose 10,000 images all failed is one line of the worklist.
  const failed = await db.query<InstanceRow>(
    `select i.* from unnest($1::text[]) as s(uid)
       cross join lateral (select * from instances i where i.study_instance_uid = s.uid and i.status = 'failed' limit $2) i`, [uids, ERRORS_SHOWN]);
  // Images consent kept from AI, counted by a partial index (migration 014): none are read when none were withheld.
  const withheld = await db.query<WithheldRow>(
    `select s.uid as study_instance_uid, w.instances, w.code from unnest($1::text[]) as s(uid)
       cross join lateral (select count(*)::int as instances, min(i.ai_withheld) as code from instances i
                            where i.study_instance_uid = s.uid and i.ai_withheld is not null) w
      where w.instances > 0`, [uids]);
  return studies.map((row) => {
    const studyFindings = findings.rows.filter((f) => f.study_instance_uid === row.study_instance_uid).map((f) => ({
      ...findingFromRow(f),
      review: f.review ? reviewFromRow(f.review) : null,
    }));
    const errors: InstanceError[] = failed.rows
      .filter((i) => i.study_instance_uid === row.study_instance_uid)
      .map((i) => ({ sopInstanceUid: i.sop_instance_uid, code: i.error_code ?? 'UNKNOWN', message: i.error_message ?? '' }));
    return { ...studyFromRow(row), ...aiWithheldOf(withheld.rows.find((w) => w.study_instance_uid === row.study_instance_uid)), findings: studyFindings, errors };
  });
}

/** Errors a worklist row or study answer lists; the study's series say how many images failed in all. */
const ERRORS_SHOWN = 20;

/** The keyset cursor of a page of instances: received time (UTC, to the microsecond, as the database keeps it) and UID. */
const encodeCursor = (receivedAt: string, sopInstanceUid: string) => Buffer.from(JSON.stringify([receivedAt, sopInstanceUid])).toString('base64url');

const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function decodeCursor(cursor: string): [string, string] {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && typeof value[1] === 'string' && CURSOR_TIME.test(String(value[0]))) return value as [string, string];
  } catch {
    // Not ours: refused below.
  }
  throw new InvalidReferenceError('after', 'after is not a cursor this server gave: pass the `after` of the previous page');
}

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

interface SeriesRow {
  series_instance_uid: string;
  modality: string | null;
  series_number: number | null;
  body_part: string | null;
  instances: number;
  queued: number;
  failed: number;
}

/**
 * The worklist's page of studies: ordered by the stored status and triage, so that with no
 * filter that rules most studies out it reads the page through studies_worklist (migration
 * 027), not every study. Exported for the test that holds it to that.
 */
export function worklistStatement(filter: WorklistFilter, limit: number): { sql: string; params: unknown[] } {
  const ranges = filter.priorityRanges;
  return {
    sql: `select s.* from studies s ${filter.shareableOnly ? SHARING.joins : ''}
      where ($6::text[] is null or s.site_id = any($6)) ${filter.shareableOnly ? `and ${SHARING.withheld} is null` : ''}
        and ($1::text[] is null or s.status = any($1))
        and ($2::text[] is null or s.modality = any($2)
             or exists (select 1 from series r where r.study_instance_uid = s.study_instance_uid and r.modality = any($2)))
        and ($3::float8[] is null or exists (
             select 1 from unnest($3::float8[], $4::float8[]) as band(lo, hi)
              where (band.lo is null or s.priority >= band.lo) and (band.hi is null or s.priority < band.hi)))
      order by s.status = 'reviewed', s.priority desc, s.received_at asc
      limit $5`,
    params: [filter.statuses ?? null, filter.modalities ?? null, ranges?.map((r) => r.min ?? null) ?? null, ranges?.map((r) => r.max ?? null) ?? null, limit, sitesParam(filter.sites)],
  };
}

/** A page of a study's instances; `after` is the next page's cursor, absent on the last. */
export interface InstancePage {
  instances: InstanceRecord[];
  after?: string;
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

/** A study's images consent kept from AI: how many, and one reason (which speaks for all). */
interface WithheldRow {
  study_instance_uid: string;
  instances: number;
  code: WithheldCode;
}

/** The notice for a study some of whose images consent kept from AI. */
function aiWithheldOf(withheld: WithheldRow | undefined): { aiWithheld?: AiWithheld } {
  return withheld ? { aiWithheld: aiWithheldNotice(withheld.code, withheld.instances) } : {};
}

function seriesFromRow(row: SeriesRow): SeriesSummary {
  return {
    seriesInstanceUid: row.series_instance_uid,
    modality: optional(row.modality),
    seriesNumber: optional(row.series_number),
    bodyPart: optional(row.body_part),
    instances: row.instances,
    queued: row.queued,
    failed: row.failed,
  };
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

export function findingFromRow(row: FindingRow): Finding {
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
