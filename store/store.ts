import { appendAudit, appendAudits, listAudit, verifyAudit } from './audit.ts';
import type { Database, Queryable } from './db.ts';
import {
  AI_ASSISTED_NOTICE,
  type Finding,
  type FindingInput,
  type InstanceError,
  type InstanceRecord,
  type NewInstance,
  type Prioritise,
  type Review,
  type StudyDetail,
  type StudySnapshot,
  type StudyStatus,
  type StudySummary,
  type WorklistItem,
} from './types.ts';

export class NotFoundError extends Error {
  readonly code = 'NOT_FOUND';
}

export interface StoreOptions {
  /** Triage policy, injected so store/ stays free of clinical logic; called inside each study-changing transaction. */
  prioritise: Prioritise;
  /** Called when a group commit of calculation audits fails (they are kept and retried). */
  onAuditError?: (error: unknown) => void;
}

/** How long a calculation's audit record may wait to share a transaction with others. */
const GROUP_COMMIT_MS = 20;

export type Store = ReturnType<typeof createStore>;

export function createStore(db: Database, options: StoreOptions) {
  /**
   * Re-reads one study inside `tx` and stores its priority and "why".
   * Called by every transaction that changes what triage sees.
   */
  async function reprioritise(tx: Queryable, studyInstanceUid: string): Promise<ReturnType<Prioritise>> {
    const { rows: [study] } = await tx.query<{ instances: InstanceRow[]; findings: FindingRow[]; clinical: unknown }>(
      `select (select coalesce(json_agg(i), '[]') from instances i where i.study_instance_uid = $1) as instances,
              (select coalesce(json_agg(f), '[]') from findings f where f.study_instance_uid = $1) as findings,
              (select clinical from study_clinical where study_instance_uid = $1) as clinical`, [studyInstanceUid]);
    const snapshot: StudySnapshot = {
      instances: study.instances.map((r) => ({ sopInstanceUid: r.sop_instance_uid, status: r.status, errorCode: r.error_code ?? undefined })),
      findings: study.findings.map(findingFromRow),
      clinical: study.clinical ?? undefined,
    };
    const { priority, why, detail } = options.prioritise(snapshot);
    await tx.query('update studies set priority = $2, why = $3, triage = $4 where study_instance_uid = $1',
      [studyInstanceUid, priority, why, detail === undefined ? null : JSON.stringify(detail)]);
    return { priority, why, detail };
  }

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
        await db.transaction((tx) => appendAudits(tx, batch));
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

    /**
     * Records a received instance with its study and series.
     *
     * Contract: one transaction; idempotent on SOP Instance UID. A second call for the
     * same instance writes nothing and returns 'duplicate'. A new instance gets one audit
     * record `instance.received`. Returns the study's priority, for the instance's jobs.
     */
    async recordInstance(input: NewInstance, actor: string): Promise<{ status: 'stored' | 'duplicate'; priority: number }> {
      return db.transaction(async (tx) => {
        const s = input.study;
        // One statement, one round trip: study and series are created if new, then the instance.
        const inserted = await tx.query(
          `with study as (
             insert into studies (study_instance_uid, patient_id, patient_name, patient_sex, patient_age, study_date,
               study_description, accession_number, modality)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9) on conflict (study_instance_uid) do nothing
           ), series as (
             insert into series (series_instance_uid, study_instance_uid, modality, series_number, body_part)
             values ($10, $1, $11, $12, $13) on conflict (series_instance_uid) do nothing
           )
           insert into instances (sop_instance_uid, series_instance_uid, study_instance_uid, sop_class_uid,
             transfer_syntax_uid, modality, blob_sha256, byte_size, image, status)
           values ($14, $10, $1, $15, $16, $11, $17, $18, $19, $20) on conflict (sop_instance_uid) do nothing
           returning sop_instance_uid`,
          [s.studyInstanceUid, s.patientId, s.patientName, s.patientSex, s.patientAge, s.studyDate, s.studyDescription,
            s.accessionNumber, s.modality,
            input.seriesInstanceUid, input.modality, input.seriesNumber, input.bodyPart,
            input.sopInstanceUid, input.sopClassUid, input.transferSyntaxUid, input.blobSha256, input.byteSize,
            input.image ? JSON.stringify(input.image) : null, input.pendingModels.length > 0 ? 'queued' : 'done']);
        const priorityOf = async () => Number((await tx.query<{ priority: number }>(
          'select priority from studies where study_instance_uid = $1', [s.studyInstanceUid])).rows[0].priority);
        if (inserted.rows.length === 0) return { status: 'duplicate' as const, priority: await priorityOf() };
        await appendAudit(tx, {
          actor,
          action: 'instance.received',
          entityType: 'instance',
          entityId: input.sopInstanceUid,
          payload: { studyInstanceUid: s.studyInstanceUid, blobSha256: input.blobSha256, transferSyntaxUid: input.transferSyntaxUid, pendingModels: input.pendingModels },
          idempotencyKey: `instance.received:${input.sopInstanceUid}`,
        });
        const { priority } = await reprioritise(tx, s.studyInstanceUid);
        return { status: 'stored' as const, priority };
      });
    },

    /**
     * Stores one model's findings for one instance.
     *
     * Contract: one transaction; safe to run any number of times. Findings are keyed by
     * their deterministic id (insert-or-ignore), each gets exactly one `finding.created`
     * audit record (keyed), the instance becomes `done` and the study is re-prioritised.
     */
    async recordFindings(sopInstanceUid: string, findings: FindingInput[], actor: string): Promise<void> {
      await db.transaction(async (tx) => {
        const instance = await tx.query<{ study_instance_uid: string }>(
          `update instances set status = 'done', error_code = null, error_message = null
            where sop_instance_uid = $1 returning study_instance_uid`, [sopInstanceUid]);
        const studyInstanceUid = instance.rows[0]?.study_instance_uid;
        if (!studyInstanceUid) throw new NotFoundError(`instance ${sopInstanceUid} is not stored`);
        for (const f of findings) {
          await tx.query(
            `insert into findings (id, sop_instance_uid, study_instance_uid, label, display, probability, positive, refer,
               operating_point, model, timing_ms, heatmap)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) on conflict (id) do nothing`,
            [f.id, sopInstanceUid, studyInstanceUid, f.label, f.display, f.probability, f.positive, f.refer,
              JSON.stringify(f.operatingPoint), JSON.stringify(f.model), JSON.stringify(f.timingMs),
              f.heatmap ? JSON.stringify(f.heatmap) : null]);
        }
        await appendAudits(tx, findings.map((f) => ({
          actor,
          action: 'finding.created',
          entityType: 'finding',
          entityId: f.id,
          payload: { sopInstanceUid, label: f.label, probability: f.probability, positive: f.positive, refer: f.refer, operatingPoint: f.operatingPoint, model: f.model },
          idempotencyKey: `finding.created:${f.id}`,
        })));
        await reprioritise(tx, studyInstanceUid);
      });
    },

    /**
     * Marks an instance as unreadable by a model, visibly.
     *
     * Contract: one transaction; idempotent per (instance, model version). Findings that
     * already exist are kept: a late failure never erases an earlier success.
     */
    async recordInferenceFailure(sopInstanceUid: string, model: { id: string; version: string }, error: { code: string; message: string }, actor: string): Promise<void> {
      await db.transaction(async (tx) => {
        const instance = await tx.query<{ study_instance_uid: string }>(
          'select study_instance_uid from instances where sop_instance_uid = $1', [sopInstanceUid]);
        const studyInstanceUid = instance.rows[0]?.study_instance_uid;
        if (!studyInstanceUid) throw new NotFoundError(`instance ${sopInstanceUid} is not stored`);
        await tx.query(
          `update instances set status = 'failed', error_code = $2, error_message = $3
            where sop_instance_uid = $1 and status <> 'done'`, [sopInstanceUid, error.code, error.message]);
        await appendAudit(tx, {
          actor,
          action: 'inference.failed',
          entityType: 'instance',
          entityId: sopInstanceUid,
          payload: { model, error },
          idempotencyKey: `inference.failed:${sopInstanceUid}:${model.id}@${model.version}`,
        });
        await reprioritise(tx, studyInstanceUid);
      });
    },

    /**
     * Records a clinician's decision on a finding.
     *
     * Contract: one transaction; a review row plus its audit record. Decisions are
     * appended, never replaced: the latest one is the finding's current review.
     */
    async recordReview(findingId: string, decision: Omit<Review, 'id' | 'findingId' | 'createdAt'>): Promise<Review> {
      return db.transaction(async (tx) => {
        const finding = await tx.query<FindingRow>('select * from findings where id = $1', [findingId]);
        if (!finding.rows[0]) throw new NotFoundError(`finding ${findingId} does not exist`);
        const inserted = await tx.query<ReviewRow>(
          `insert into reviews (finding_id, decision, reason_code, comment, reviewer)
           values ($1, $2, $3, $4, $5) returning *`,
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
            decision: review.decision,
            reasonCode: review.reasonCode,
            comment: review.comment,
            finding: { label: f.label, probability: f.probability, positive: f.positive, model: f.model },
            studyInstanceUid: f.study_instance_uid,
          },
        });
        return review;
      });
    },

    /**
     * Records a bedside assessment for a study and re-prioritises it.
     *
     * Contract: one transaction; replaces the study's previous assessment (the audit
     * trail keeps every version); returns the new priority. NotFoundError if the study
     * has not been received.
     */
    async recordClinical(studyInstanceUid: string, clinical: Record<string, unknown>, actor: string): Promise<ReturnType<Prioritise>> {
      return db.transaction(async (tx) => {
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

    async getWorklist(limit = 200): Promise<WorklistItem[]> {
      const studies = await db.query<StudyRow>(
        `select * from studies order by priority desc, received_at asc limit $1`, [limit]);
      const items = await hydrate(db, studies.rows);
      // Studies that still need a human come first; among them, triage order.
      return items.sort((a, b) => Number(a.status === 'reviewed') - Number(b.status === 'reviewed'));
    },

    async getStudy(studyInstanceUid: string): Promise<StudyDetail> {
      const studies = await db.query<StudyRow>('select * from studies where study_instance_uid = $1', [studyInstanceUid]);
      if (!studies.rows[0]) throw new NotFoundError(`study ${studyInstanceUid} does not exist`);
      const [item] = await hydrate(db, studies.rows);
      const instances = await db.query<InstanceRow>('select * from instances where study_instance_uid = $1 order by received_at', [studyInstanceUid]);
      const reviews = await db.query<ReviewRow>(
        `select r.* from reviews r join findings f on f.id = r.finding_id where f.study_instance_uid = $1 order by r.id`, [studyInstanceUid]);
      const { findings, errors, ...study } = item;
      return { study, instances: instances.rows.map(instanceFromRow), findings, reviews: reviews.rows.map(reviewFromRow), errors };
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
       from findings f where f.study_instance_uid = any($1) order by f.probability desc`, [uids]);
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
    return { ...studyFromRow(row, deriveStatus(studyInstances, studyFindings)), findings: studyFindings, errors };
  });
}

function deriveStatus(instances: InstanceRow[], findings: Finding[]): StudyStatus {
  if (instances.some((i) => i.status === 'queued')) return 'pending';
  if (findings.length === 0) return instances.some((i) => i.status === 'failed') ? 'failed' : 'ready';
  return findings.every((f) => f.review) ? 'reviewed' : 'ready';
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
  priority: number;
  why: string;
  triage: Record<string, unknown> | null;
  received_at: Date | string;
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

interface FindingRow {
  id: string;
  sop_instance_uid: string;
  study_instance_uid: string;
  label: string;
  display: string;
  probability: number;
  positive: boolean;
  refer: boolean;
  operating_point: FindingInput['operatingPoint'];
  model: FindingInput['model'];
  timing_ms: Record<string, number>;
  heatmap: FindingInput['heatmap'] | null;
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
}

const iso = (value: Date | string) => new Date(value).toISOString();
const optional = <T>(value: T | null) => value ?? undefined;

function studyFromRow(row: StudyRow, status: StudyStatus): StudySummary {
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
    status,
    priority: row.priority,
    why: row.why,
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
    aiAssisted: AI_ASSISTED_NOTICE,
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
  };
}
