import { appendAudit, appendAudits, auditChainColumns, auditedTransaction, auditInsert, auditKeys, listAudit, planAudits, verifyAudit, type AuditChainState, type AuditEntry, type AuditedTx, type PlannedAudits } from './audit.ts';
import type { Database, Queryable } from './db.ts';
import {
  AI_ASSISTED_NOTICE,
  AI_ASSISTED_NOTICE_ZH,
  type AgreementQuery,
  type AgreementRow,
  type Finding,
  type FindingInput,
  type InstanceError,
  type InstanceRecord,
  type NewInstance,
  type NewReaderFinding,
  type Prioritise,
  type ReaderFindingRecord,
  type Review,
  type StudyChange,
  type StudyChangeKind,
  type StudyDetail,
  type StudySnapshot,
  type StudyStatus,
  type StudySummary,
  type WorklistFilter,
  type WorklistItem,
} from './types.ts';

export class NotFoundError extends Error {
  readonly code = 'NOT_FOUND';
}

/** A write that names something which exists but does not fit (an image of another study, a region outside the image). */
export class InvalidReferenceError extends Error {
  readonly code = 'VALIDATION_FAILED';
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

/** A decision on a finding that makes no claim: the model was not applicable to the image. */
export class NotApplicableError extends Error {
  readonly code = 'FINDING_NOT_APPLICABLE';
}

export interface StoreOptions {
  /** Triage policy, injected so store/ stays free of clinical logic; called inside each study-changing transaction. */
  prioritise: Prioritise;
  /** Called when a group commit of calculation audits fails (they are kept and retried). */
  onAuditError?: (error: unknown) => void;
  /**
   * Called after a write that changes what a reader sees of a study has committed (never
   * for a rolled-back or duplicate write): how live views learn to re-fetch. Must not throw.
   */
  onChange?: (change: StudyChange) => void;
}

/** How long a calculation's audit record may wait to share a transaction with others. */
const GROUP_COMMIT_MS = 20;

export type Store = ReturnType<typeof createStore>;

export function createStore(db: Database, options: StoreOptions) {
  /**
   * Appends `audits` (planned under the chain lock, if any) and re-reads one study in the
   * same round trip, then stores its priority and "why". Called by every transaction that
   * changes what triage sees, after its own writes.
   */
  async function reprioritise(tx: AuditedTx, studyInstanceUid: string, audits?: PlannedAudits): Promise<ReturnType<Prioritise>> {
    const { rows: [study] } = await tx.query<{ instances: SnapshotInstanceRow[]; findings: SnapshotFindingRow[]; clinical: unknown }>(
      `with appended as (${auditInsert('$2')})
       select (select coalesce(json_agg(json_build_object('sop_instance_uid', i.sop_instance_uid, 'status', i.status, 'error_code', i.error_code)), '[]')
                 from instances i where i.study_instance_uid = $1) as instances,
              (select coalesce(json_agg(json_build_object('label', f.label, 'display', f.display, 'probability', f.probability, 'positive', f.positive,
                        'refer', f.refer, 'operating_point', f.operating_point, 'model', f.model, 'applicability', f.applicability)), '[]')
                 from findings f where f.study_instance_uid = $1) as findings,
              (select clinical from study_clinical where study_instance_uid = $1) as clinical`, [studyInstanceUid, audits?.rows ?? '[]']);
    const snapshot: StudySnapshot = {
      instances: study.instances.map((r) => ({ sopInstanceUid: r.sop_instance_uid, status: r.status, errorCode: r.error_code ?? undefined })),
      findings: study.findings.map((r) => ({
        label: r.label, display: r.display, probability: r.probability, positive: r.positive, refer: r.refer, operatingPoint: r.operating_point, model: r.model,
        applicability: optional(r.applicability),
      })),
      clinical: study.clinical ?? undefined,
    };
    const { priority, why, whyZh, detail } = options.prioritise(snapshot);
    await tx.query('update studies set priority = $2, why = $3, triage = $4, why_zh = $5 where study_instance_uid = $1',
      [studyInstanceUid, priority, why, detail === undefined ? null : JSON.stringify(detail), whyZh]);
    return { priority, why, whyZh, detail };
  }

  const changed = (studyInstanceUid: string, change: StudyChangeKind) => options.onChange?.({ studyInstanceUid, change });

  /** What a study holding one instance awaiting AI, and nothing else, is ranked at: the priority its first jobs are queued with. */
  const newStudyPriority = options.prioritise({ instances: [{ sopInstanceUid: '', status: 'queued' }], findings: [] }).priority;

  const pendingCalculations: Parameters<typeof appendAudit>[1][] = [];
  let flushTimer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();

  /** Appends every waiting calculation audit in one transaction; on failure keeps them for the next flush. */
  function flushCalculations(): Promise<void> {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    flushing = flushing.then(async () => {
      const batch = pendingCalculations.splice(0);
      if (batch.length === 0) return;
      try {
        await auditedTransaction(db, (tx) => appendAudits(tx, batch));
      } catch (error) {
        pendingCalculations.unshift(...batch);
        options.onAuditError?.(error);
        flushTimer ??= setTimeout(flushCalculations, 1000);
      }
    });
    return flushing;
  }

  return {
    db,
    newStudyPriority,

    /**
     * Records a received instance with its study and series.
     *
     * Contract: one transaction; idempotent on SOP Instance UID. A second call for the
     * same instance writes nothing and returns 'duplicate'. A new instance gets one audit
     * record `instance.received`. Returns the study's priority, for the instance's jobs.
     * Round trips: begin with the audit lock; the rows with the chain state; the audit
     * record with the study's snapshot; its priority; commit.
     */
    async recordInstance(input: NewInstance, actor: string): Promise<{ status: 'stored' | 'duplicate'; priority: number }> {
      const outcome = await auditedTransaction(db, async (tx) => {
        const s = input.study;
        const received: AuditEntry = {
          actor,
          action: 'instance.received',
          entityType: 'instance',
          entityId: input.sopInstanceUid,
          payload: { studyInstanceUid: s.studyInstanceUid, blobSha256: input.blobSha256, transferSyntaxUid: input.transferSyntaxUid, pendingModels: input.pendingModels },
          idempotencyKey: `instance.received:${input.sopInstanceUid}`,
        };
        // Study and series are created if new, then the instance; a duplicate's study priority comes along.
        const { rows: [written] } = await tx.query<{ stored: string | null; priority: number | null } & AuditChainState>(
          `with study as (
             insert into studies (study_instance_uid, patient_id, patient_name, patient_sex, patient_age, study_date,
               study_description, accession_number, modality)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9) on conflict (study_instance_uid) do nothing
           ), series as (
             insert into series (series_instance_uid, study_instance_uid, modality, series_number, body_part)
             values ($10, $1, $11, $12, $13) on conflict (series_instance_uid) do nothing
           ), instance as (
             insert into instances (sop_instance_uid, series_instance_uid, study_instance_uid, sop_class_uid,
               transfer_syntax_uid, modality, blob_sha256, byte_size, image, status, pending_models)
             values ($14, $10, $1, $15, $16, $11, $17, $18, $19, $20, $22) on conflict (sop_instance_uid) do nothing
             returning sop_instance_uid
           )
           select (select sop_instance_uid from instance) as stored,
                  (select priority from studies where study_instance_uid = $1) as priority,
                  ${auditChainColumns('$21')}`,
          [s.studyInstanceUid, s.patientId, s.patientName, s.patientSex, s.patientAge, s.studyDate, s.studyDescription,
            s.accessionNumber, s.modality,
            input.seriesInstanceUid, input.modality, input.seriesNumber, input.bodyPart,
            input.sopInstanceUid, input.sopClassUid, input.transferSyntaxUid, input.blobSha256, input.byteSize,
            input.image ? JSON.stringify(input.image) : null, input.pendingModels.length > 0 ? 'queued' : 'done', auditKeys([received]), input.pendingModels]);
        if (written.stored === null) return { status: 'duplicate' as const, priority: Number(written.priority) };
        const { priority } = await reprioritise(tx, s.studyInstanceUid, planAudits(written, [received]));
        return { status: 'stored' as const, priority };
      });
      if (outcome.status === 'stored') changed(input.study.studyInstanceUid, 'received');
      return outcome;
    },

    /**
     * Stores one model's findings for one instance.
     *
     * Contract: one transaction; safe to run any number of times. Findings are keyed by
     * their deterministic id (insert-or-ignore), each gets exactly one `finding.created`
     * audit record (keyed), the model leaves the instance's pending list, the instance
     * becomes `done` once that list is empty (a failure of another model stays `failed`),
     * and the study is re-prioritised.
     * Round trips: begin with the audit lock; instance and findings with the chain state;
     * the audit records with the study's snapshot; its priority; commit.
     */
    async recordFindings(sopInstanceUid: string, findings: FindingInput[], actor: string): Promise<void> {
      const created: AuditEntry[] = findings.map((f) => ({
        actor,
        action: 'finding.created',
        entityType: 'finding',
        entityId: f.id,
        payload: {
          sopInstanceUid, label: f.label, probability: f.probability, positive: f.positive, refer: f.refer, operatingPoint: f.operatingPoint, model: f.model,
          ...(f.applicability && { applicability: f.applicability }),
        },
        idempotencyKey: `finding.created:${f.id}`,
      }));
      const columns = findings.map((f) => ({
        id: f.id, label: f.label, display: f.display, probability: f.probability, positive: f.positive, refer: f.refer,
        operating_point: f.operatingPoint, model: f.model, timing_ms: f.timingMs, heatmap: f.heatmap ?? null, applicability: f.applicability ?? null,
      }));
      const studyInstanceUid = await auditedTransaction(db, async (tx) => {
        const { rows: [written] } = await tx.query<{ study: string | null } & AuditChainState>(
          `with instance as (
             update instances set pending_models = array_remove(pending_models, $4),
                    status = case when status = 'failed' then 'failed'
                                  when cardinality(array_remove(pending_models, $4)) = 0 then 'done' else 'queued' end
              where sop_instance_uid = $1 returning study_instance_uid
           ), stored as (
             insert into findings (id, sop_instance_uid, study_instance_uid, label, display, probability, positive, refer,
               operating_point, model, timing_ms, heatmap, applicability)
             select f.id, $1, instance.study_instance_uid, f.label, f.display, f.probability, f.positive, f.refer,
               f.operating_point, f.model, f.timing_ms, f.heatmap, f.applicability
               from instance, json_populate_recordset(null::findings, $2::json) f
             on conflict (id) do nothing
           )
           select (select study_instance_uid from instance) as study, ${auditChainColumns('$3')}`,
          [sopInstanceUid, JSON.stringify(columns), auditKeys(created), modelKeyOf(findings)]);
        if (!written.study) throw new NotFoundError(`instance ${sopInstanceUid} is not stored`);
        await reprioritise(tx, written.study, planAudits(written, created));
        return written.study;
      });
      changed(studyInstanceUid, 'finding');
    },

    /**
     * Marks an instance as unreadable by a model, visibly.
     *
     * Contract: one transaction; idempotent per (instance, model version). Findings that
     * already exist are kept: a late failure of a model that already answered changes
     * nothing, and a failure of one model stays visible when another answers.
     */
    async recordInferenceFailure(sopInstanceUid: string, model: { id: string; version: string }, error: { code: string; message: string }, actor: string): Promise<void> {
      const failed: AuditEntry = {
        actor,
        action: 'inference.failed',
        entityType: 'instance',
        entityId: sopInstanceUid,
        payload: { model, error },
        idempotencyKey: `inference.failed:${sopInstanceUid}:${model.id}@${model.version}`,
      };
      const studyInstanceUid = await auditedTransaction(db, async (tx) => {
        const { rows: [written] } = await tx.query<{ study: string | null } & AuditChainState>(
          `with failed as (
             update instances set status = 'failed', error_code = $2, error_message = $3, pending_models = array_remove(pending_models, $5)
              where sop_instance_uid = $1 and ($5 = any(pending_models) or (status = 'queued' and cardinality(pending_models) = 0))
           )
           select (select study_instance_uid from instances where sop_instance_uid = $1) as study, ${auditChainColumns('$4')}`,
          [sopInstanceUid, error.code, error.message, auditKeys([failed]), `${model.id}@${model.version}`]);
        if (!written.study) throw new NotFoundError(`instance ${sopInstanceUid} is not stored`);
        await reprioritise(tx, written.study, planAudits(written, [failed]));
        return written.study;
      });
      changed(studyInstanceUid, 'failure');
    },

    /**
     * Records a clinician's decision on a finding.
     *
     * Contract: one transaction; a review row plus its audit record. Decisions are
     * appended, never replaced: a second decision on the same finding is an amendment
     * (`amends` = the previous review's id, also in the audit payload), and the latest one
     * is the finding's current review. The finding row is locked so that two concurrent
     * decisions amend in a line, never both the same one. NotFoundError: nothing written.
     */
    async recordReview(findingId: string, decision: Omit<Review, 'id' | 'findingId' | 'createdAt' | 'amends'>): Promise<Review> {
      const review = await auditedTransaction(db, async (tx) => {
        const finding = await tx.query<FindingRow>('select * from findings where id = $1 for update', [findingId]);
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
        return { review, studyInstanceUid: f.study_instance_uid };
      });
      changed(review.studyInstanceUid, 'review');
      return review.review;
    },

    /**
     * Records a finding a reader adds that the AI did not report.
     *
     * Contract: one transaction; a reader_findings row plus its audit record
     * `finding.reader-added`. The study must exist (NotFoundError); the image, when named,
     * must belong to it and the region lie inside that image (InvalidReferenceError).
     * Either error writes nothing. The label is taken as given: the API checks it.
     */
    async recordReaderFinding(studyInstanceUid: string, input: NewReaderFinding): Promise<ReaderFindingRecord> {
      const record = await auditedTransaction(db, async (tx) => {
        const study = await tx.query('select 1 from studies where study_instance_uid = $1', [studyInstanceUid]);
        if (study.rows.length === 0) throw new NotFoundError(`study ${studyInstanceUid} does not exist`);
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
      changed(studyInstanceUid, 'reader-finding');
      return record;
    },

    /**
     * Records a bedside assessment for a study and re-prioritises it.
     *
     * Contract: one transaction; replaces the study's previous assessment (the audit
     * trail keeps every version); returns the new priority. NotFoundError if the study
     * has not been received.
     */
    async recordClinical(studyInstanceUid: string, clinical: Record<string, unknown>, actor: string): Promise<ReturnType<Prioritise>> {
      const result = await auditedTransaction(db, async (tx) => {
        const study = await tx.query('select 1 from studies where study_instance_uid = $1', [studyInstanceUid]);
        if (study.rows.length === 0) throw new NotFoundError(`study ${studyInstanceUid} does not exist`);
        await tx.query(
          `insert into study_clinical (study_instance_uid, clinical) values ($1, $2)
           on conflict (study_instance_uid) do update set clinical = excluded.clinical, recorded_at = now()`,
          [studyInstanceUid, JSON.stringify(clinical)]);
        const result = await reprioritise(tx, studyInstanceUid);
        await appendAudit(tx, {
          actor,
          action: 'study.assessed',
          entityType: 'study',
          entityId: studyInstanceUid,
          payload: { clinical, priority: result.priority, why: result.why },
        });
        return result;
      });
      changed(studyInstanceUid, 'triage');
      return result;
    },

    /** Instances of a study still waiting for AI: their jobs' priority follows the study's. */
    async queuedInstances(studyInstanceUid: string): Promise<{ sopInstanceUid: string; modality?: string }[]> {
      const rows = await db.query<{ sop_instance_uid: string; modality: string | null }>(
        `select sop_instance_uid, modality from instances where study_instance_uid = $1 and status = 'queued'`, [studyInstanceUid]);
      return rows.rows.map((r) => ({ sopInstanceUid: r.sop_instance_uid, modality: optional(r.modality) }));
    },

    /**
     * Audits one synchronous calculation (risk, score, triage) for a clinician: which
     * model, what it was given and what it answered.
     *
     * Contract: group commit. The record joins the others made within GROUP_COMMIT_MS
     * and they are appended in one transaction, after the answer has left: a
     * sub-millisecond calculation must not wait for a database round trip. A crash in
     * that window loses those records; a failed commit keeps and retries them. Stored
     * clinical facts (findings, reviews, assessments) are never written this way.
     */
    recordCalculation(actor: string, calculation: { kind: string; model: { id: string; version: string; sha256: string }; inputs: unknown; result: unknown }): void {
      pendingCalculations.push({
        actor,
        action: `${calculation.kind}.calculated`,
        entityType: 'model',
        entityId: `${calculation.model.id}@${calculation.model.version}`,
        payload: calculation as unknown as Record<string, unknown>,
      });
      flushTimer ??= setTimeout(flushCalculations, GROUP_COMMIT_MS);
    },

    /** Writes what is waiting, then closes the database. */
    async close(): Promise<void> {
      await flushCalculations();
      await db.close();
    },

    /** Studies that still need a human first, in triage order; then reviewed ones. Filters apply before the limit. */
    async getWorklist(filter: WorklistFilter = {}, limit = 200): Promise<WorklistItem[]> {
      const ranges = filter.priorityRanges;
      const studies = await db.query<StudyRow>(
        `select * from (select s.*, ${STUDY_STATUS_SQL} as status from studies s) s
          where ($1::text[] is null or s.status = any($1))
            and ($2::text[] is null or s.modality = any($2)
                 or exists (select 1 from instances i where i.study_instance_uid = s.study_instance_uid and i.modality = any($2)))
            and ($3::float8[] is null or exists (
                 select 1 from unnest($3::float8[], $4::float8[]) as band(lo, hi)
                  where (band.lo is null or s.priority >= band.lo) and (band.hi is null or s.priority < band.hi)))
          order by s.status = 'reviewed', s.priority desc, s.received_at asc
          limit $5`,
        [filter.statuses ?? null, filter.modalities ?? null, ranges?.map((r) => r.min ?? null) ?? null, ranges?.map((r) => r.max ?? null) ?? null, limit]);
      return hydrate(db, studies.rows);
    },

    async getStudy(studyInstanceUid: string): Promise<StudyDetail> {
      const studies = await db.query<StudyRow>(`select s.*, ${STUDY_STATUS_SQL} as status from studies s where study_instance_uid = $1`, [studyInstanceUid]);
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

    /**
     * Agreement between readers and each model version, per label, over the findings
     * created in the query window: one query. A finding's decision is its latest review
     * (an amended decision counts once); time to decision runs from the finding's
     * creation to that review.
     */
    async agreement(query: AgreementQuery): Promise<AgreementRow[]> {
      const { rows } = await db.query<{
        model_id: string; model_version: string; label: string; display: string;
        findings: number; decided: number; accepted: number; overridden: number; amended: number;
        median: number | null; p90: number | null;
        override_reasons: { code: string; count: number }[]; by_day: { date: string; decided: number; accepted: number }[]; reader_findings: number;
      }>(
        `with scoped as (
           select f.id, f.study_instance_uid, f.label, f.display, f.created_at,
                  f.model->>'id' as model_id, f.model->>'version' as model_version
             from findings f
            where ($1::timestamptz is null or f.created_at >= $1::timestamptz)
              and ($2::timestamptz is null or f.created_at < $2::timestamptz)
              and ($3::text is null or f.model->>'id' = $3::text)
              and f.probability is not null
         ), decided as (
           select distinct on (r.finding_id) s.*, r.decision, r.reason_code, r.created_at as decided_at,
                  count(*) over (partition by r.finding_id) as reviews
             from reviews r join scoped s on s.id = r.finding_id
            order by r.finding_id, r.id desc
         ), groups as (
           select s.model_id, s.model_version, s.label, max(s.display) as display,
                  count(*)::int as findings,
                  count(d.id)::int as decided,
                  (count(*) filter (where d.decision = 'accept'))::int as accepted,
                  (count(*) filter (where d.decision = 'override'))::int as overridden,
                  (count(*) filter (where d.reviews > 1))::int as amended,
                  percentile_cont(0.5) within group (order by extract(epoch from d.decided_at - d.created_at)::float8) as median,
                  percentile_cont(0.9) within group (order by extract(epoch from d.decided_at - d.created_at)::float8) as p90
             from scoped s left join decided d on d.id = s.id
            group by s.model_id, s.model_version, s.label
         )
         select g.*,
                (select coalesce(json_agg(json_build_object('code', x.code, 'count', x.n) order by x.n desc, x.code), '[]')
                   from (select d.reason_code as code, count(*)::int as n from decided d
                          where (d.model_id, d.model_version, d.label) = (g.model_id, g.model_version, g.label) and d.decision = 'override'
                          group by d.reason_code) x) as override_reasons,
                (select coalesce(json_agg(json_build_object('date', x.date, 'decided', x.decided, 'accepted', x.accepted) order by x.date), '[]')
                   from (select to_char(d.decided_at at time zone 'UTC', 'YYYY-MM-DD') as date, count(*)::int as decided,
                                (count(*) filter (where d.decision = 'accept'))::int as accepted
                           from decided d where (d.model_id, d.model_version, d.label) = (g.model_id, g.model_version, g.label)
                          group by 1) x) as by_day,
                (select count(*)::int from reader_findings rf
                  where rf.study_instance_uid in (select s.study_instance_uid from scoped s
                                                   where (s.model_id, s.model_version) = (g.model_id, g.model_version))) as reader_findings
           from groups g
          order by g.model_id, g.model_version, g.label`,
        [query.from?.toISOString() ?? null, query.to?.toISOString() ?? null, query.modelId ?? null]);
      return rows.map((r) => ({
        modelId: r.model_id,
        modelVersion: r.model_version,
        label: r.label,
        display: r.display,
        findings: r.findings,
        decided: r.decided,
        accepted: r.accepted,
        overridden: r.overridden,
        amended: r.amended,
        timeToDecisionSeconds: r.median === null || r.p90 === null ? null : { median: r.median, p90: r.p90 },
        overrideReasons: r.override_reasons,
        byDay: r.by_day,
        readerFindings: r.reader_findings,
      }));
    },

    async getInstance(sopInstanceUid: string): Promise<InstanceRecord> {
      const rows = await db.query<InstanceRow>('select * from instances where sop_instance_uid = $1', [sopInstanceUid]);
      if (!rows.rows[0]) throw new NotFoundError(`instance ${sopInstanceUid} does not exist`);
      return instanceFromRow(rows.rows[0]);
    },

    listAudit: (options: { limit: number; beforeSeq?: number; entityId?: string }) => listAudit(db, options),
    verifyAudit: () => verifyAudit(db),
  };
}

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
    return { ...studyFromRow(row), findings: studyFindings, errors };
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
  priority: number;
  why: string;
  why_zh: string;
  triage: Record<string, unknown> | null;
  received_at: Date | string;
  status: StudyStatus;
}

interface InstanceRow {
  sop_instance_uid: string;
  series_instance_uid: string;
  study_instance_uid: string;
  modality: string | null;
  transfer_syntax_uid: string;
  blob_sha256: string;
  image: Record<string, unknown> | null;
  status: 'queued' | 'done' | 'failed';
  error_code: string | null;
  error_message: string | null;
}

/** The columns of an instance and a finding that triage reads (reprioritise). */
type SnapshotInstanceRow = Pick<InstanceRow, 'sop_instance_uid' | 'status' | 'error_code'>;
type SnapshotFindingRow = Pick<FindingRow, 'label' | 'display' | 'probability' | 'positive' | 'refer' | 'operating_point' | 'model' | 'applicability'>;

interface FindingRow {
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

interface ReviewRow {
  id: string | number;
  finding_id: string;
  decision: 'accept' | 'override';
  reason_code: string | null;
  comment: string | null;
  reviewer: string;
  created_at: Date | string;
  amends: string | number | null;
}

interface ReaderFindingRow {
  id: string | number;
  study_instance_uid: string;
  label: string;
  sop_instance_uid: string | null;
  region: ReaderFindingRecord['region'] | null;
  comment: string | null;
  reviewer: string;
  created_at: Date | string;
}

/** The `id@version` key of the model that made a set of findings (one job: one model). */
function modelKeyOf(findings: FindingInput[]): string {
  const keys = new Set(findings.map((f) => `${f.model.id}@${f.model.version}`));
  if (keys.size !== 1) throw new Error(`findings of one job come from one model, not ${keys.size}`);
  return [...keys][0];
}

const iso = (value: Date | string) => new Date(value).toISOString();
const optional = <T>(value: T | null) => value ?? undefined;

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
    status: row.status,
    priority: row.priority,
    why: row.why,
    whyZh: row.why_zh || row.why,
    triage: optional(row.triage),
    receivedAt: iso(row.received_at),
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

function reviewFromRow(row: ReviewRow): Review {
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

function readerFindingFromRow(row: ReaderFindingRow): ReaderFindingRecord {
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
