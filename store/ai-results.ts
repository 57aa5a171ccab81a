/**
 * What the AI results SR documents (pipeline/ai-results-sr.ts) are written from: one model's
 * findings on one image with the image's blob and site, and for a clinician's review the
 * decisions made so far on those findings and the review before it. Reads only: the
 * documents are stored as instances of the study (studies.ts recordInstance).
 */
import type { ModelProvenance, Review } from '../contract/findings.ts';
import { reviewFromRow, type ReviewRow } from './reviews.ts';
import { iso, NotFoundError, type StoreContext } from './shared.ts';
import { findingFromRow, type FindingRow } from './study-reads.ts';
import type { Finding } from './types.ts';
import { CLINICAL_FINDINGS } from './clinical-findings.ts';

export interface AiResultsSubject {
  studyInstanceUid: string;
  siteId: string;
  /** The analysed image's stored bytes. */
  blobSha256: string;
  /** The model's findings on the image, by id; empty when it left none (consent withheld them). */
  findings: Finding[];
  /** When they were stored: the preliminary document's content time. */
  createdAt: string;
  /**
   * The image as ingest recorded it (dicom/sr/source-attributes.ts StoredSource): its identity
   * and size, and of its stored DICOM JSON the attributes asked for (`copiedTags`) that it has.
   * `copied` is null when none were asked for, none was stored, or it left one of them out
   * (too large): the document then reads them from the image's blob.
   */
  source: {
    // The shape of dicom/sr's SourceIdentity, spelt out: the store does not import dicom/.
    studyInstanceUid: string;
    seriesInstanceUid: string;
    sopInstanceUid: string;
    sopClassUid: string;
    modality?: string;
    rows?: number;
    columns?: number;
    copied: Record<string, unknown> | null;
  };
}

export interface ReviewSubject extends AiResultsSubject {
  modelKey: string;
  sourceSopInstanceUid: string;
  review: Review;
  /** The latest decision on each of the findings as of this review (itself included). */
  decisions: Review[];
  /** The review on the same image and model just before this one; absent for the first. */
  previousReviewId?: string;
  /** How many reviews on the same image and model came before this one. */
  earlierReviews: number;
  /** The display name of each reviewer named in `decisions` who has an account (a Person Name, where the login is not one). */
  reviewerNames: Map<string, string>;
}

/** A page of findingsSince. */
export interface FindingsPage {
  subjects: { sopInstanceUid: string; model: ModelProvenance }[];
  next?: { at: string; id: string };
}

const MODEL_KEY = `(f.model->>'id') || '@' || (f.model->>'version')`;

export const aiResultsReads = {
  /**
   * One model's findings on one image (`modelKey` = id@version), with the image as ingest
   * recorded it and the `copiedTags` attributes of its stored DICOM JSON. NotFoundError if the
   * image is not stored.
   */
  async aiResultsSubject({ db }: StoreContext, sopInstanceUid: string, modelKey: string, copiedTags?: readonly string[]): Promise<AiResultsSubject> {
    const { rows: [instance] } = await db.query<{
      study_instance_uid: string; site_id: string; blob_sha256: string; series_instance_uid: string; sop_class_uid: string;
      modality: string | null; rows: number | null; columns: number | null; copied: Record<string, unknown> | null;
    }>(
      `select i.study_instance_uid, s.site_id, i.blob_sha256, i.series_instance_uid, i.sop_class_uid, i.modality,
              (i.image ->> 'rows')::int as rows, (i.image ->> 'columns')::int as columns,
              case when $2::text[] is null or i.dicom_json is null or coalesce(i.dicom_json_omitted && $2::text[], false) then null
                   else coalesce((select jsonb_object_agg(k, i.dicom_json -> k) from unnest($2::text[]) k where i.dicom_json ? k), '{}'::jsonb) end as copied
         from instances i join studies s on s.study_instance_uid = i.study_instance_uid
        where i.sop_instance_uid = $1`, [sopInstanceUid, copiedTags ?? null]);
    if (!instance) throw new NotFoundError(`instance ${sopInstanceUid} is not stored`);
    const { rows } = await db.query<FindingRow>(`select f.* from ${CLINICAL_FINDINGS} f where f.sop_instance_uid = $1 and ${MODEL_KEY} = $2 order by f.id`, [sopInstanceUid, modelKey]);
    const findings = rows.map(findingFromRow);
    return {
      studyInstanceUid: instance.study_instance_uid,
      siteId: instance.site_id,
      blobSha256: instance.blob_sha256,
      findings,
      createdAt: findings.map((f) => f.createdAt).sort().at(-1) ?? iso(new Date(0)),
      source: {
        studyInstanceUid: instance.study_instance_uid,
        seriesInstanceUid: instance.series_instance_uid,
        sopInstanceUid,
        sopClassUid: instance.sop_class_uid,
        modality: instance.modality ?? undefined,
        rows: instance.rows ?? undefined,
        columns: instance.columns ?? undefined,
        copied: instance.copied,
      },
    };
  },

  /** Which of these SOP Instance UIDs are stored. */
  async storedInstances({ db }: StoreContext, sopInstanceUids: string[]): Promise<string[]> {
    const { rows } = await db.query<{ sop_instance_uid: string }>('select sop_instance_uid from instances where sop_instance_uid = any($1)', [sopInstanceUids]);
    return rows.map((r) => r.sop_instance_uid);
  },

  /**
   * The images and models of the clinical findings recorded since `since` (`after` the previous page's
   * `next`), at most `limit` findings a page, in the order they were recorded: those whose
   * preliminary SR a stopped process may never have queued. One (image, model) appears once a page,
   * and may appear again on the next. `next` is absent on the last page. One range scan of
   * findings_clinical_created (migration 026).
   */
  async findingsSince({ db }: StoreContext, since: Date, limit: number, after?: FindingsPage['next']): Promise<FindingsPage> {
    const { rows } = await db.query<{ id: string; at: string; sop_instance_uid: string; model: ModelProvenance }>(
      `select f.id, f.created_at::text as at, f.sop_instance_uid, f.model from ${CLINICAL_FINDINGS} f
        where (f.created_at, f.id) > ($1::timestamptz, $2::text) order by f.created_at, f.id limit $3`,
      // The cursor's time is PostgreSQL's own text of it: a JavaScript Date would drop the microseconds.
      [after?.at ?? since.toISOString(), after?.id ?? '', limit]);
    const subjects = new Map(rows.map((r) => [`${r.sop_instance_uid} ${r.model.id}@${r.model.version}`, { sopInstanceUid: r.sop_instance_uid, model: r.model }]));
    const last = rows.at(-1);
    return { subjects: [...subjects.values()], next: rows.length === limit && last ? { at: last.at, id: last.id } : undefined };
  },

  /** Reviews recorded since `since`, oldest first: those whose SR request a stopped API process may have lost. */
  async reviewsSince({ db }: StoreContext, since: Date): Promise<string[]> {
    const { rows } = await db.query<{ id: string | number }>('select id from reviews where created_at >= $1 order by id', [since]);
    return rows.map((r) => String(r.id));
  },

  /** A review and what its document records (`copiedTags` as for aiResultsSubject). NotFoundError for an unknown review. */
  async reviewSubject(context: StoreContext, reviewId: string, copiedTags?: readonly string[]): Promise<ReviewSubject> {
    const { db } = context;
    const { rows: [row] } = await db.query<ReviewRow & { sop_instance_uid: string; model_key: string }>(
      `select r.*, f.sop_instance_uid, ${MODEL_KEY} as model_key from reviews r join ${CLINICAL_FINDINGS} f on f.id = r.finding_id where r.id = $1`, [reviewId]);
    if (!row) throw new NotFoundError(`review ${reviewId} does not exist`);
    const subject = await aiResultsReads.aiResultsSubject(context, row.sop_instance_uid, row.model_key, copiedTags);
    // Reviews of this image and model up to this one, oldest first: the latest per finding is its decision.
    const { rows: reviews } = await db.query<ReviewRow>(
      `select r.* from reviews r join ${CLINICAL_FINDINGS} f on f.id = r.finding_id
        where f.sop_instance_uid = $1 and ${MODEL_KEY} = $2 and r.id <= $3 order by r.id`, [row.sop_instance_uid, row.model_key, reviewId]);
    const latest = new Map(reviews.map((r) => [r.finding_id, reviewFromRow(r)]));
    const earlier = reviews.filter((r) => String(r.id) !== String(row.id));
    const { rows: users } = await db.query<{ username: string; display_name: string }>(
      'select username, display_name from users where username = any($1)', [[...new Set(reviews.map((r) => r.reviewer))]]);
    return {
      ...subject,
      modelKey: row.model_key,
      sourceSopInstanceUid: row.sop_instance_uid,
      review: reviewFromRow(row),
      decisions: [...latest.values()],
      previousReviewId: earlier.length > 0 ? String(earlier.at(-1)!.id) : undefined,
      earlierReviews: earlier.length,
      reviewerNames: new Map(users.filter((u) => u.display_name).map((u) => [u.username, u.display_name])),
    };
  },
};
