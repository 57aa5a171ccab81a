/**
 * What the AI results SR documents (pipeline/ai-results-sr.ts) are written from: one model's
 * findings on one image with the image's blob and site, and for a clinician's review the
 * decisions made so far on those findings and the review before it. Reads only: the
 * documents are stored as instances of the study (studies.ts recordInstance).
 */
import type { Review } from '../contract/findings.ts';
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

const MODEL_KEY = `(f.model->>'id') || '@' || (f.model->>'version')`;

export const aiResultsReads = {
  /** One model's findings on one image (`modelKey` = id@version). NotFoundError if the image is not stored. */
  async aiResultsSubject({ db }: StoreContext, sopInstanceUid: string, modelKey: string): Promise<AiResultsSubject> {
    const { rows: [instance] } = await db.query<{ study_instance_uid: string; site_id: string; blob_sha256: string }>(
      `select i.study_instance_uid, s.site_id, i.blob_sha256 from instances i join studies s on s.study_instance_uid = i.study_instance_uid
        where i.sop_instance_uid = $1`, [sopInstanceUid]);
    if (!instance) throw new NotFoundError(`instance ${sopInstanceUid} is not stored`);
    const { rows } = await db.query<FindingRow>(`select f.* from ${CLINICAL_FINDINGS} f where f.sop_instance_uid = $1 and ${MODEL_KEY} = $2 order by f.id`, [sopInstanceUid, modelKey]);
    const findings = rows.map(findingFromRow);
    return {
      studyInstanceUid: instance.study_instance_uid,
      siteId: instance.site_id,
      blobSha256: instance.blob_sha256,
      findings,
      createdAt: findings.map((f) => f.createdAt).sort().at(-1) ?? iso(new Date(0)),
    };
  },

  /** Which of these SOP Instance UIDs are stored. */
  async storedInstances({ db }: StoreContext, sopInstanceUids: string[]): Promise<string[]> {
    const { rows } = await db.query<{ sop_instance_uid: string }>('select sop_instance_uid from instances where sop_instance_uid = any($1)', [sopInstanceUids]);
    return rows.map((r) => r.sop_instance_uid);
  },

  /** Reviews recorded since `since`, oldest first: those whose SR request a stopped API process may have lost. */
  async reviewsSince({ db }: StoreContext, since: Date): Promise<string[]> {
    const { rows } = await db.query<{ id: string | number }>('select id from reviews where created_at >= $1 order by id', [since]);
    return rows.map((r) => String(r.id));
  },

  /** A review and what its document records. NotFoundError for an unknown review. */
  async reviewSubject(context: StoreContext, reviewId: string): Promise<ReviewSubject> {
    const { db } = context;
    const { rows: [row] } = await db.query<ReviewRow & { sop_instance_uid: string; model_key: string }>(
      `select r.*, f.sop_instance_uid, ${MODEL_KEY} as model_key from reviews r join ${CLINICAL_FINDINGS} f on f.id = r.finding_id where r.id = $1`, [reviewId]);
    if (!row) throw new NotFoundError(`review ${reviewId} does not exist`);
    const subject = await aiResultsReads.aiResultsSubject(context, row.sop_instance_uid, row.model_key);
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
