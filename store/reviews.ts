/** The reader's side of a study: decisions on AI findings (reviews) and findings the reader adds. */
import type { ConsultationChange } from '../contract/consultations.ts';
import { appendAudit, auditedTransaction } from './audit.ts';
import { announceConsultation, routeDisagreement } from './consultations.ts';
import { InvalidReferenceError, iso, NotApplicableError, NotFoundError, optional, type StoreContext } from './shared.ts';
import { requireStudyInScope, sitesParam, type SiteScope } from './sites.ts';
import type { FindingRow } from './study-reads.ts';
import type { NewReaderFinding, ReaderFindingRecord, Review } from './types.ts';
import { CLINICAL_FINDINGS } from './clinical-findings.ts';

/** The reader's writes, each given the store's context first (bindContext). */
export const reviewWrites = {
  /**
   * Records a clinician's decision on a finding.
   *
   * Contract: one transaction; a review row plus its audit record. Decisions are
   * appended, never replaced: a second decision on the same finding is an amendment
   * (`amends` = the previous review's id, also in the audit payload), and the latest one
   * is the finding's current review. The finding row is locked so that two concurrent
   * decisions amend in a line, never both the same one. NotFoundError (also for a finding
   * of a study outside `scope`): nothing written. An override at a site whose consultation
   * policy routes on disagreement opens the study's case in the same transaction (consultations.ts).
   */
  async recordReview({ db, options }: StoreContext, findingId: string, decision: Omit<Review, 'id' | 'findingId' | 'createdAt' | 'amends'>, scope: SiteScope): Promise<Review> {
    let routed: ConsultationChange | undefined;
    const review = await auditedTransaction(db, async (tx) => {
      const finding = await tx.query<FindingRow>(
        `select f.* from ${CLINICAL_FINDINGS} f join studies s on s.study_instance_uid = f.study_instance_uid
          where f.id = $1 and ($2::text[] is null or s.site_id = any($2)) for update of f`, [findingId, sitesParam(scope)]);
      if (!finding.rows[0]) throw new NotFoundError(`finding ${findingId} does not exist`);
      if (finding.rows[0].probability === null) {
        throw new NotApplicableError(`finding ${findingId} is "not applicable" (${finding.rows[0].applicability?.reason?.text ?? 'outside the model\'s population'}): there is no AI claim to accept or override; add a reader finding instead`);
      }
      const inserted = await tx.query<ReviewRow>(
        `insert into reviews (finding_id, decision, reason_code, comment, reviewer, amends)
         values ($1, $2, $3, $4, $5, (select max(id) from reviews where finding_id = $1)) returning *`,
        [findingId, decision.decision, decision.reasonCode ?? null, decision.comment ?? null, decision.reviewer]);
      const review = reviewFromRow(inserted.rows[0]);
      const f = finding.rows[0];
      await appendAudit(tx, {
        actor: decision.reviewer,
        action: `finding.${decision.decision}`,
        entityType: 'finding',
        entityId: findingId,
        payload: {
          reviewId: review.id,
          amends: review.amends ?? null,
          decision: review.decision,
          reasonCode: review.reasonCode,
          comment: review.comment,
          finding: { label: f.label, probability: f.probability, positive: f.positive, model: f.model },
          studyInstanceUid: f.study_instance_uid,
        },
      });
      // A decision may complete the study's reads: its stored status (migration 027) follows.
      await tx.query('update studies set status = study_status($1) where study_instance_uid = $1', [f.study_instance_uid]);
      if (review.decision === 'override') routed = await routeDisagreement(tx, f, review);
      return { review, studyInstanceUid: f.study_instance_uid };
    });
    options.onChange?.({ studyInstanceUid: review.studyInstanceUid, change: 'review' });
    announceConsultation(options, routed);
    return review.review;
  },

  /**
   * Records a finding a reader adds that the AI did not report.
   *
   * Contract: one transaction; a reader_findings row plus its audit record
   * `finding.reader-added`. The study must exist within `scope` (NotFoundError); the image, when named,
   * must belong to it and the region lie inside that image (InvalidReferenceError).
   * Either error writes nothing. The label is taken as given: the API checks it.
   */
  async recordReaderFinding({ db, options }: StoreContext, studyInstanceUid: string, input: NewReaderFinding, scope: SiteScope): Promise<ReaderFindingRecord> {
    const record = await auditedTransaction(db, async (tx) => {
      await requireStudyInScope(tx, studyInstanceUid, scope);
      if (input.sopInstanceUid !== undefined) {
        const { rows: [instance] } = await tx.query<{ image: { rows?: number; columns?: number } | null }>(
          'select image from instances where sop_instance_uid = $1 and study_instance_uid = $2', [input.sopInstanceUid, studyInstanceUid]);
        if (!instance) throw new InvalidReferenceError('sopInstanceUid', `instance ${input.sopInstanceUid} is not part of study ${studyInstanceUid}`);
        const { rows, columns } = instance.image ?? {};
        const r = input.region;
        if (r && rows !== undefined && columns !== undefined && (r.x + r.width > columns || r.y + r.height > rows)) {
          throw new InvalidReferenceError('region', `the region ends at (${r.x + r.width}, ${r.y + r.height}), outside the ${columns}×${rows} image`);
        }
      }
      const inserted = await tx.query<ReaderFindingRow>(
        `insert into reader_findings (study_instance_uid, label, sop_instance_uid, region, comment, reviewer)
         values ($1, $2, $3, $4, $5, $6) returning *`,
        [studyInstanceUid, input.label, input.sopInstanceUid ?? null, input.region ? JSON.stringify(input.region) : null, input.comment ?? null, input.reviewer]);
      const record = readerFindingFromRow(inserted.rows[0]);
      await appendAudit(tx, {
        actor: input.reviewer,
        action: 'finding.reader-added',
        entityType: 'reader-finding',
        entityId: record.id,
        payload: { studyInstanceUid, label: record.label, sopInstanceUid: record.sopInstanceUid, region: record.region, comment: record.comment },
      });
      return record;
    });
    options.onChange?.({ studyInstanceUid, change: 'reader-finding' });
    return record;
  },
};

export interface ReviewRow {
  id: string | number;
  finding_id: string;
  decision: 'accept' | 'override';
  reason_code: string | null;
  comment: string | null;
  reviewer: string;
  created_at: Date | string;
  amends: string | number | null;
}

export interface ReaderFindingRow {
  id: string | number;
  study_instance_uid: string;
  label: string;
  sop_instance_uid: string | null;
  region: ReaderFindingRecord['region'] | null;
  comment: string | null;
  reviewer: string;
  created_at: Date | string;
}

export function reviewFromRow(row: ReviewRow): Review {
  return {
    id: String(row.id),
    findingId: row.finding_id,
    decision: row.decision,
    reasonCode: optional(row.reason_code),
    comment: optional(row.comment),
    reviewer: row.reviewer,
    createdAt: iso(row.created_at),
    amends: row.amends === null || row.amends === undefined ? undefined : String(row.amends),
  };
}

export function readerFindingFromRow(row: ReaderFindingRow): ReaderFindingRecord {
  return {
    id: String(row.id),
    studyInstanceUid: row.study_instance_uid,
    label: row.label,
    sopInstanceUid: optional(row.sop_instance_uid),
    region: optional(row.region),
    comment: optional(row.comment),
    reviewer: row.reviewer,
    createdAt: iso(row.created_at),
  };
}
