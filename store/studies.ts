/**
 * The study aggregate's writes: an instance received, a model's findings or failure on
 * it (written by the results consumer), a bedside assessment. Each is one audited
 * transaction that ends by re-ranking the study (reprioritise); reads are in study-reads.ts.
 * Past 300 lines: the findings write also opens a routed consultation in its own
 * transaction (store/consultations.ts), and splitting the writes would split that transaction;
 * the ranking (the snapshot triage reads, reprioritise) stays beside the writes that read it
 * in their own statements and must keep it exact (studies.test.ts).
 */
import { appendAudit, auditChainColumns, auditedTransaction, auditedTransactionAtHead, auditedTransactionFrom, auditInsert, auditKeys, planAudits, type AuditChainState, type AuditEntry, type AuditedTx, type PlannedAudits } from './audit.ts';
import type { ConsultationChange } from '../contract/consultations.ts';
import { announceConsultation, lowConfidenceRouteColumn, routeLowConfidence, type LowConfidenceRoute } from './consultations.ts';
import { InvalidReferenceError, NotFoundError, optional, type StoreContext } from './shared.ts';
import { requireStudyInScope, type SiteScope } from './sites.ts';
import type { FindingRow } from './study-reads.ts';
import type { FindingInput, NewInstance, Prioritise, StudySnapshot } from './types.ts';
import { CLINICAL_FINDINGS } from './clinical-findings.ts';

/** The study writes, each given the store's context first (bindContext). */
export const studyWrites = {
  /**
   * Records a received instance with its study and series.
   *
   * Contract: one transaction; idempotent on SOP Instance UID. A second call for the
   * same instance writes nothing and returns 'duplicate'. A new study is filed under
   * `input.siteId`; an instance of a study filed under another site is refused
   * (InvalidReferenceError), nothing written. An instance whose patient's consent does not
   * allow AI processing (asked again here, under the audit lock a consent change also takes)
   * is stored with no pending models and `ai_withheld` saying why. A new instance gets one audit
   * record `instance.received`. Returns the study's priority, for the instance's jobs.
   * Round trips (3): begin with the audit lock and the chain's head; the rows and the audit
   * record (planned on that head, appended only with a new instance) with the study's triage
   * snapshot as it was; the study's new priority, the commit sent behind it. An instance that awaits no model, in
   * a study that already had one (an AI results SR, a film consent withholds), changes nothing
   * triage reads (`unchangedForTriage`): the study keeps the priority its last change stored,
   * and the transaction commits after the rows (3 round trips).
   */
  async recordInstance({ db, options }: StoreContext, input: NewInstance, actor: string): Promise<{ status: 'stored' | 'duplicate'; priority: number }> {
    const outcome = await auditedTransactionAtHead(db, async (tx, head) => {
      const s = input.study;
      const received: AuditEntry = {
        actor,
        action: 'instance.received',
        entityType: 'instance',
        entityId: input.sopInstanceUid,
        payload: {
          studyInstanceUid: s.studyInstanceUid, blobSha256: input.blobSha256, transferSyntaxUid: input.transferSyntaxUid, pendingModels: input.pendingModels,
          ...(input.aiWithheld && { aiWithheld: input.aiWithheld }),
        },
        idempotencyKey: `instance.received:${input.sopInstanceUid}`,
      };
      // Chained onto the head read with the lock; appended by the statement only if it stores the instance.
      const audits = planAudits({ existing: null, last: head }, [received]);
      // Study and series are created if new, then the instance; a duplicate's study priority comes along.
      // Series and instance are not written into a study filed under another site.
      // The snapshot columns see the study before this statement's writes (one statement, one snapshot).
      const { rows: [written] } = await tx.query<{ stored: string | null; stored_status: string | null; priority: number | null; foreign_site: boolean } & SnapshotRow>(
        `with foreign_study as (
           select 1 from studies where study_instance_uid = $1 and site_id <> $23
         ), study as (
           insert into studies (study_instance_uid, patient_id, patient_name, patient_sex, patient_age, study_date,
             study_description, accession_number, modality, site_id)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $23)
           -- A study first seen through an object without pixels (an SR) takes its modality from its first image.
           on conflict (study_instance_uid) do update set modality = excluded.modality
             where studies.modality is null and excluded.modality is not null and studies.site_id = excluded.site_id
         ), series as (
           insert into series (series_instance_uid, study_instance_uid, modality, series_number, body_part)
           select $10, $1, $11, $12::int, $13 where not exists (select 1 from foreign_study)
           on conflict (series_instance_uid) do nothing
         ), consent as (
           -- Consent concerns AI, which never reads an object without pixels.
           select case when $19::jsonb is null then null else consent_withheld($23, $2, 'ai-processing') end as withheld
         ), instance as (
           insert into instances (sop_instance_uid, series_instance_uid, study_instance_uid, sop_class_uid,
             transfer_syntax_uid, modality, blob_sha256, byte_size, image, status, pending_models, ai_withheld, dicom_json, dicom_json_omitted)
           select $14, $10, $1, $15, $16, $11, $17, $18::bigint, $19::jsonb,
                  case when consent.withheld is null then $20 else 'done' end,
                  case when consent.withheld is null then $22::text[] else '{}' end, consent.withheld, $24::jsonb, $25::text[]
             from consent where not exists (select 1 from foreign_study)
           on conflict (sop_instance_uid) do nothing
           returning sop_instance_uid, status
         ), appended as (
           ${auditInsert('$21')} where exists (select 1 from instance) and not exists (select 1 from audit where idempotency_key = $26)
         )
         select (select sop_instance_uid from instance) as stored, (select status from instance) as stored_status,
                (select priority from studies where study_instance_uid = $1) as priority,
                exists (select 1 from foreign_study) as foreign_site,
                ${studySnapshotColumns('$1')}`,
        [s.studyInstanceUid, s.patientId, s.patientName, s.patientSex, s.patientAge, s.studyDate, s.studyDescription,
          s.accessionNumber, s.modality,
          input.seriesInstanceUid, input.modality, input.seriesNumber, input.bodyPart,
          input.sopInstanceUid, input.sopClassUid, input.transferSyntaxUid, input.blobSha256, input.byteSize,
          input.image ? JSON.stringify(input.image) : null, input.pendingModels.length > 0 ? 'queued' : 'done', audits.rows, input.pendingModels,
          input.siteId, input.dicomJson ? JSON.stringify(input.dicomJson.dataset) : null, input.dicomJson?.omitted ?? null, received.idempotencyKey]);
      if (written.foreign_site) throw new InvalidReferenceError('studyInstanceUid', `study ${s.studyInstanceUid} is filed under another site`);
      if (written.stored === null) return { status: 'duplicate' as const, priority: Number(written.priority) };
      const before = snapshotOf(written);
      const queued = written.stored_status === 'queued';
      if (unchangedForTriage(before, queued)) return { status: 'stored' as const, priority: Number(written.priority) };
      const after: StudySnapshot = { ...before, instances: { ...before.instances, any: true, queued: before.instances.queued || queued } };
      // The transaction's last statement: the commit goes with it.
      const { priority } = await storePriority(tx, s.studyInstanceUid, options.prioritise(after), undefined, { last: true });
      return { status: 'stored' as const, priority };
    });
    if (outcome.status === 'stored') options.onChange?.({ studyInstanceUid: input.study.studyInstanceUid, change: 'received' });
    return outcome;
  },

  /**
   * Stores one model's findings for one instance.
   *
   * Contract: one transaction; safe to run any number of times. Findings are keyed by
   * their deterministic id (insert-or-ignore), each gets exactly one `finding.created`
   * audit record (keyed), the model leaves the instance's pending list, the instance
   * becomes `done` once that list is empty (a failure of another model stays `failed`),
   * each finding that outranks its study's leader for (model, label, claim) becomes it,
   * and the study is re-prioritised. Findings of an instance consent withholds from AI (the
   * patient refused while its job waited) are dropped: the model leaves the pending list,
   * the instance says why, and one `ai.withheld` record (keyed) replaces the findings' records.
   * A finding in the refer band, or an image no model could read, at a grassroots site whose
   * consultation policy routes on low confidence opens the study's case in the same transaction
   * (consultations.ts routeLowConfidence; once per study). Round trips (2): begin with the audit
   * lock and, sent behind them (run once the lock is held, in a snapshot of its own), the consent
   * check, instance and findings (written only when consent allows), the chain state, where the
   * site's policy routes a case and the study's snapshot as the writes leave it (AFTER_FINDINGS);
   * the audit records with its priority, the commit sent behind them. A routed case's statements
   * come between, then the commit; withheld, the findings' statement writes nothing and
   * withheldFindings settles the instance instead; routing reads the findings again only for an
   * unread image.
   */
  async recordFindings({ db, options }: StoreContext, sopInstanceUid: string, findings: FindingInput[], actor: string): Promise<void> {
    const created = findingCreatedAudits(sopInstanceUid, findings, actor);
    const columns = findingColumns(findings);
    const modelKey = modelKeyOf(findings);
    let routed: ConsultationChange | undefined;
    // Consent is asked under the audit lock, so a refusal is either before this or after it: the
    // statement is sent behind begin and the lock, in their round trip (auditedTransactionFrom).
    const statement = {
      sql:
        `with given as materialized (
           -- The findings as rows, parsed once (heatmaps included) for the three places that read them.
           select * from json_populate_recordset(null::findings, $2::json)
         ), consent as (
           select i.study_instance_uid as study, coalesce(i.ai_withheld, consent_withheld(s.site_id, s.patient_id, 'ai-processing')) as withheld
             from instances i join studies s on s.study_instance_uid = i.study_instance_uid where i.sop_instance_uid = $1
         ), instance as (
           update instances set pending_models = array_remove(pending_models, $4),
                  status = case when status = 'failed' then 'failed'
                                when cardinality(array_remove(pending_models, $4)) = 0 then 'done' else 'queued' end
            where sop_instance_uid = $1 and exists (select 1 from consent where withheld is null) returning study_instance_uid, status
         ), stored as (
           insert into findings (id, sop_instance_uid, study_instance_uid, label, display, probability, positive, refer,
             operating_point, model, timing_ms, heatmap, applicability, input_stats)
           select f.id, $1, instance.study_instance_uid, f.label, f.display, f.probability, f.positive, f.refer,
             f.operating_point, f.model, f.timing_ms, f.heatmap, f.applicability, f.input_stats
             from instance, given f
           on conflict (id) do nothing
           returning id
         ), leaders as (${FINDING_LEADERS_UPSERT})
         select (select study from consent) as study, (select withheld from consent) as withheld,
                ${auditChainColumns('$3')}, ${lowConfidenceRouteColumn('(select study from consent)')},
                ${studySnapshotColumns('(select study from consent)', AFTER_FINDINGS)}`,
      params: [sopInstanceUid, JSON.stringify(columns), auditKeys(created), modelKey],
    };
    type Written = { study: string | null; withheld: string | null; route: LowConfidenceRoute | null } & AuditChainState & SnapshotRow;
    const studyInstanceUid = await auditedTransactionFrom<Written, string>(db, statement, async (tx, [written]) => {
      if (!written.study) throw new NotFoundError(`instance ${sopInstanceUid} is not stored`);
      if (written.withheld !== null) return withheldFindings(tx, options.prioritise, sopInstanceUid, { study: written.study, withheld: written.withheld }, modelKey, actor);
      // Without a route nothing follows the ranking: the commit goes with it.
      const { detail } = await storePriority(tx, written.study, options.prioritise(snapshotOf(written)), planAudits(written, created), { last: !written.route });
      routed = await routeLowConfidence(tx, sopInstanceUid, written.study, findings, written.route ?? undefined, detail);
      return written.study;
    });
    options.onChange?.({ studyInstanceUid, change: 'finding' });
    announceConsultation(options, routed);
  },

  /**
   * Marks an instance as unreadable by a model, visibly.
   *
   * Contract: one transaction; idempotent per (instance, model version). Findings that
   * already exist are kept: a late failure of a model that already answered changes
   * nothing, and a failure of one model stays visible when another answers.
   */
  async recordInferenceFailure({ db, options }: StoreContext, sopInstanceUid: string, model: { id: string; version: string }, error: { code: string; message: string }, actor: string): Promise<void> {
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
      await reprioritise(tx, options.prioritise, written.study, planAudits(written, [failed]), { last: true });
      return written.study;
    });
    options.onChange?.({ studyInstanceUid, change: 'failure' });
  },

  /**
   * Records a bedside assessment for a study and re-prioritises it.
   *
   * Contract: one transaction; replaces the study's previous assessment (the audit
   * trail keeps every version); returns the new priority. NotFoundError if the study
   * has not been received or is outside `scope`.
   */
  async recordClinical({ db, options }: StoreContext, studyInstanceUid: string, clinical: Record<string, unknown>, actor: string, scope: SiteScope): Promise<ReturnType<Prioritise>> {
    const result = await auditedTransaction(db, async (tx) => {
      await requireStudyInScope(tx, studyInstanceUid, scope);
      await tx.query(
        `insert into study_clinical (study_instance_uid, clinical) values ($1, $2)
         on conflict (study_instance_uid) do update set clinical = excluded.clinical, recorded_at = now()`,
        [studyInstanceUid, JSON.stringify(clinical)]);
      const result = await reprioritise(tx, options.prioritise, studyInstanceUid);
      await appendAudit(tx, {
        actor,
        action: 'study.assessed',
        entityType: 'study',
        entityId: studyInstanceUid,
        payload: { clinical, priority: result.priority, why: result.why },
      });
      return result;
    });
    options.onChange?.({ studyInstanceUid, change: 'triage' });
    return result;
  },
};

/** What a study holding one instance awaiting AI, and nothing else, is ranked at: the priority its first jobs are queued with. */
export const newStudyPriority = (prioritise: Prioritise) => prioritise({ instances: { any: true, queued: true }, findings: [] }).priority;

/**
 * Re-reads one study, then stores its priority and "why" (and its status, migration 027) with
 * `audits` (planned under the chain lock, if any) appended in the same statement. Called by every
 * transaction that changes what triage sees, after its own writes (recordInstance and
 * recordFindings read the snapshot in their own statements instead, adding what their writes
 * change). A write that moves a study's status must end with it too: a review does its own.
 *
 * What it reads is bounded whatever the study's size (migration 011): three index probes
 * on its images and its findings' leaders (one per model, label and claim), so receiving
 * the 10,000th image of a CT costs what the first did. `last`: the caller's transaction ends with
 * it, and its commit is sent with the ranking (TransactionQueryable.last).
 */
export async function reprioritise(tx: AuditedTx, prioritise: Prioritise, studyInstanceUid: string, audits?: PlannedAudits, options: { last?: boolean } = {}): Promise<ReturnType<Prioritise>> {
  const { rows: [study] } = await tx.query<SnapshotRow>(`select ${studySnapshotColumns('$1')}`, [studyInstanceUid]);
  return storePriority(tx, studyInstanceUid, prioritise(snapshotOf(study)), audits, options);
}

/**
 * One statement: appends `audits` and stores the study's ranking, and its status computed afresh
 * (study_status, migration 027: the statement sees the transaction's earlier writes). Returns the ranking.
 * `last`: the transaction's last statement, sent with its commit (TransactionQueryable.last).
 */
async function storePriority(tx: AuditedTx, studyInstanceUid: string, ranked: ReturnType<Prioritise>, audits: PlannedAudits | undefined, options: { last?: boolean } = {}): Promise<ReturnType<Prioritise>> {
  const { priority, why, whyZh, detail } = ranked;
  await (options.last && tx.last ? tx.last.bind(tx) : tx.query.bind(tx))(
    `with appended as (${auditInsert('$6')})
     update studies set priority = $2, why = $3, triage = $4, why_zh = $5, status = study_status($1) where study_instance_uid = $1`,
    [studyInstanceUid, priority, why, detail === undefined ? null : JSON.stringify(detail), whyZh, audits?.rows ?? '[]']);
  return ranked;
}

/**
 * Whether recording an instance leaves every input of triage as it was, so that the priority
 * stored by the study's last change is still what prioritise (a pure function of the snapshot)
 * answers: the study already had an instance (`any` stays true) and the new one awaits no
 * model (`queued` unchanged). A new instance is never failed and adds no finding, leader or
 * assessment, so the rest of the snapshot cannot change. The one input outside the snapshot is
 * the triage policy loaded at start: a study last ranked under an earlier policy keeps that
 * ranking through such an instance, as it does until anything it reads changes.
 */
export const unchangedForTriage = (before: StudySnapshot, newInstanceQueued: boolean) => before.instances.any && !newInstanceQueued;

/** What triage reads of a study (StudySnapshot), as `studySnapshotColumns` selects it. */
interface SnapshotRow {
  any: boolean;
  queued: boolean;
  failed: { sop_instance_uid: string; error_code: string | null } | null;
  findings: SnapshotFindingRow[];
  clinical: unknown;
}

/**
 * Where studySnapshotColumns reads whether an image awaits AI and the study's finding leaders
 * (model_key, label, claim, finding_id) with their findings: the tables, or (AFTER_FINDINGS)
 * what the writes of the statement it is part of leave in them.
 */
interface SnapshotSources {
  queued: (study: string) => string;
  leaders: (study: string) => string;
  /** The clinical finding whose id is `id` (a leader's: the rows are joined laterally, each one index probe). */
  finding: (id: string) => string;
}

const TABLES: SnapshotSources = {
  queued: (study) => `exists (select 1 from instances where study_instance_uid = ${study} and status = 'queued')`,
  leaders: (study) => `(select model_key, label, claim, finding_id from study_finding_leaders where study_instance_uid = ${study})`,
  finding: (id) => `(select * from ${CLINICAL_FINDINGS} c where c.id = ${id})`,
};

/**
 * recordFindings' statement sees the tables as they were before it (one statement, one
 * snapshot), so its own writes are added from what they return: the instance's new status
 * (`instance`), the leaders its upsert inserted or replaced (`leaders`), and the findings it
 * inserted (`stored`, from `given`: a finding already stored is read from the table, and one a shadow run
 * stored under the same id is not clinical and not inserted). Whether an image failed, the assessment
 * and `any` (the instance is the study's) cannot change there. studies.test.ts proves the result equal
 * to a fresh read.
 */
const AFTER_FINDINGS: SnapshotSources = {
  queued: (study) => `(exists (select 1 from instances where study_instance_uid = ${study} and status = 'queued' and sop_instance_uid <> $1)
                       or exists (select 1 from instance where status = 'queued'))`,
  leaders: (study) => `(select o.model_key, o.label, o.claim, o.finding_id from study_finding_leaders o
                         where o.study_instance_uid = ${study}
                           and not exists (select 1 from leaders n where n.model_key = o.model_key and n.label = o.label and n.claim = o.claim)
                        union all select model_key, label, claim, finding_id from leaders)`,
  finding: (id) => `(${TABLES.finding(id)}
                      union all select * from given j where j.id = ${id} and j.id in (select id from stored))`,
};

/**
 * Select-list columns of a SnapshotRow for the study `study` (a parameter or an expression).
 * Leaders in key order: triage's answer may depend on the order of its findings (the first
 * "not applicable" reason it names), so every read gives the same one.
 */
const studySnapshotColumns = (study: string, sources: SnapshotSources = TABLES) =>
  `exists (select 1 from instances where study_instance_uid = ${study}) as any,
   ${sources.queued(study)} as queued,
   (select json_build_object('sop_instance_uid', sop_instance_uid, 'error_code', error_code)
      from instances where study_instance_uid = ${study} and status = 'failed' limit 1) as failed,
   (select coalesce(json_agg(json_build_object('label', f.label, 'display', f.display, 'probability', f.probability, 'positive', f.positive,
             'refer', f.refer, 'operating_point', f.operating_point, 'model', f.model, 'applicability', f.applicability)
             order by l.model_key, l.label, l.claim), '[]')
      from ${sources.leaders(study)} l join lateral ${sources.finding('l.finding_id')} f on true) as findings,
   (select clinical from study_clinical where study_instance_uid = ${study}) as clinical`;

const snapshotOf = (study: SnapshotRow): StudySnapshot => ({
  instances: {
    any: study.any,
    queued: study.queued,
    ...(study.failed && { failed: { sopInstanceUid: study.failed.sop_instance_uid, errorCode: optional(study.failed.error_code) } }),
  },
  findings: study.findings.map((r) => ({
    label: r.label, display: r.display, probability: r.probability, positive: r.positive, refer: r.refer, operatingPoint: r.operating_point, model: r.model,
    applicability: optional(r.applicability),
  })),
  clinical: study.clinical ?? undefined,
});

/**
 * When consent no longer allows AI on the instance (recordFindings asked, under the audit
 * lock): settles the model as answered without its findings — the instance says why, one
 * `ai.withheld` record (keyed per instance and model) — and returns the study.
 */
async function withheldFindings(tx: AuditedTx, prioritise: Prioritise, sopInstanceUid: string, instance: { study: string; withheld: string }, modelKey: string, actor: string): Promise<string> {
  const dropped: AuditEntry = {
    actor, action: 'ai.withheld', entityType: 'instance', entityId: sopInstanceUid,
    payload: { model: modelKey, reason: instance.withheld, findingsDropped: true },
    idempotencyKey: `ai.withheld:${sopInstanceUid}:${modelKey}`,
  };
  const { rows: [state] } = await tx.query<AuditChainState>(
    `with instance as (
       update instances set ai_withheld = $2, pending_models = array_remove(pending_models, $3),
              status = case when status = 'failed' then 'failed' when cardinality(array_remove(pending_models, $3)) = 0 then 'done' else 'queued' end
        where sop_instance_uid = $1
     ) select ${auditChainColumns('$4')}`, [sopInstanceUid, instance.withheld, modelKey, auditKeys([dropped])]);
  await reprioritise(tx, prioritise, instance.study, planAudits(state, [dropped]), { last: true });
  return instance.study;
}

/**
 * The body of recordFindings' CTE that keeps the study's finding leaders (migration 011):
 * per (model, label, claim) the most probable finding — the one triage would pick among
 * them — or, claiming nothing, the first. Reads the statement's `instance` and `given`
 * (the findings, `$2`, as rows) and `$4` (model key); a second run with the same findings changes nothing.
 * Returns the leaders it inserted or replaced (AFTER_FINDINGS).
 */
const FINDING_LEADERS_UPSERT = `
  insert into study_finding_leaders (study_instance_uid, model_key, label, claim, finding_id, probability)
  select distinct on (f.label, f.claim) f.study, $4, f.label, f.claim, f.id, f.probability
    from (select instance.study_instance_uid as study, f.id, f.label, f.probability,
                 finding_claim(f.probability, f.positive, f.refer, f.applicability) as claim
            from instance, given f) f
   order by f.label, f.claim, f.probability desc nulls last, f.id
  on conflict (study_instance_uid, model_key, label, claim) do update set finding_id = excluded.finding_id, probability = excluded.probability
   where excluded.probability > study_finding_leaders.probability
  returning model_key, label, claim, finding_id`;

/** The columns of a finding that triage reads (reprioritise). */
type SnapshotFindingRow = Pick<FindingRow, 'label' | 'display' | 'probability' | 'positive' | 'refer' | 'operating_point' | 'model' | 'applicability'>;

/** One `finding.created` record per finding (keyed: a second run adds none); a shadow run's say so. */
export function findingCreatedAudits(sopInstanceUid: string, findings: FindingInput[], actor: string, deployment?: 'shadow'): AuditEntry[] {
  return findings.map((f) => ({
    actor,
    action: 'finding.created',
    entityType: 'finding',
    entityId: f.id,
    payload: {
      sopInstanceUid, label: f.label, probability: f.probability, positive: f.positive, refer: f.refer, operatingPoint: f.operatingPoint, model: f.model,
      ...(f.applicability && { applicability: f.applicability }),
      ...(deployment && { deployment }),
    },
    idempotencyKey: `finding.created:${f.id}`,
  }));
}

/** Findings as rows of the `findings` table, for `json_populate_recordset(null::findings, …)`. */
export const findingColumns = (findings: FindingInput[]) => findings.map((f) => ({
  id: f.id, label: f.label, display: f.display, probability: f.probability, positive: f.positive, refer: f.refer,
  operating_point: f.operatingPoint, model: f.model, timing_ms: f.timingMs, heatmap: f.heatmap ?? null, applicability: f.applicability ?? null,
  input_stats: f.inputStats ?? null,
}));

/** The `id@version` key of the model that made a set of findings (one job: one model). */
export function modelKeyOf(findings: FindingInput[]): string {
  const keys = new Set(findings.map((f) => `${f.model.id}@${f.model.version}`));
  if (keys.size !== 1) throw new Error(`findings of one job come from one model, not ${keys.size}`);
  return [...keys][0];
}
