/**
 * What a comparison of two models of one label reads: the studies both read, each side's
 * answer there, and what the radiologist said. The statistics are pipeline/model-comparison.ts's.
 */
import type { StoreContext } from './shared.ts';

/** A model by id and version. */
export interface ModelRef { id: string; version: string }

export interface ModelComparisonQuery {
  a: ModelRef;
  b: ModelRef;
  label: string;
  /** Findings created in [from, to); either open. */
  from?: Date;
  to?: Date;
  /** Studies of these sites only; undefined: all. */
  sites?: string[];
  /** At most this many studies, the oldest (the caller bounds the answer). */
  limit: number;
}

/** One model's answer on one study: over its findings of the label there (one per instance). */
export interface ComparedAnswer {
  /** The model answered on at least one instance (the others were outside its population). */
  applicable: boolean;
  /** Any answered instance was positive. */
  positive: boolean;
  /** Why it did not answer, when it answered nowhere (e.g. OUT_OF_DISTRIBUTION, AGE). */
  notApplicableCode: string | null;
  /** Per instance: the stages' milliseconds without the queue wait (which measures load, not the model). */
  processingMs: number[];
  /** It ran in shadow here (findings.deployment): stored, never shown to a clinician. */
  shadow: boolean;
}

export interface ComparedStudy {
  studyInstanceUid: string;
  /** Who the study is of, for resampling by patient: the Patient ID, else the study itself. */
  patientKey: string;
  a: ComparedAnswer;
  b: ComparedAnswer;
  /** What the radiologist said of the label on this study; null when undecided. */
  readerSaysPositive: boolean | null;
  /** When the reader last said it (ISO). */
  decidedAt: string | null;
}

/** A model version with findings of a label, clinical or shadow: what a comparison may name. */
export interface ComparableModel { modelId: string; modelVersion: string; label: string; display: string; findings: number; shadowFindings: number }

export const modelComparisonReads = {
  /** Every (model version, label) with findings, shadow runs included (the agreement dashboard counts clinical ones only). */
  async comparableModels({ db }: StoreContext): Promise<ComparableModel[]> {
    const { rows } = await db.query<{ model_id: string; model_version: string; label: string; display: string; findings: number; shadow_findings: number }>(
      `select f.model->>'id' as model_id, f.model->>'version' as model_version, f.label, max(f.display) as display,
              count(*)::int as findings, (count(*) filter (where f.deployment = 'shadow'))::int as shadow_findings
         from findings f where f.probability is not null
        group by 1, 2, 3 order by 1, 2, 3 limit 1000`);
    return rows.map((r) => ({ modelId: r.model_id, modelVersion: r.model_version, label: r.label, display: r.display, findings: r.findings, shadowFindings: r.shadow_findings }));
  },

  /**
   * The studies with findings of the label from both models (clinical or shadow runs), oldest
   * first. The reader's word is the latest review of any answered clinical finding of the label
   * on the study (a shadow one is never shown, so never reviewed): an accept keeps its call, an override
   * turns it — except an override of a positive for a wrong location (present, elsewhere) and
   * one for poor image quality (not assessable: no word). A finding the reader added of the
   * label says positive whatever the reviews say.
   */
  async modelComparisonStudies({ db }: StoreContext, q: ModelComparisonQuery): Promise<ComparedStudy[]> {
    const { rows } = await db.query<ComparedStudyRow>(
      `with answers as (
         select f.study_instance_uid,
                case when f.model->>'id' = $1 and f.model->>'version' = $2 then 'a' else 'b' end as side,
                bool_or(f.probability is not null) as applicable,
                coalesce(bool_or(f.positive) filter (where f.probability is not null), false) as positive,
                min(f.applicability->'reason'->>'code') filter (where f.probability is null) as not_applicable_code,
                json_agg((select coalesce(sum(t.value::float8), 0) from jsonb_each_text(f.timing_ms) t where t.key <> 'queueWait')) as processing_ms,
                bool_or(f.deployment = 'shadow') as shadow,
                min(f.created_at) as created_at
           from findings f
          where f.label = $5
            and ((f.model->>'id' = $1 and f.model->>'version' = $2) or (f.model->>'id' = $3 and f.model->>'version' = $4))
            and ($6::timestamptz is null or f.created_at >= $6::timestamptz)
            and ($7::timestamptz is null or f.created_at < $7::timestamptz)
            and ($8::text[] is null or exists (select 1 from studies st where st.study_instance_uid = f.study_instance_uid and st.site_id = any($8)))
          group by 1, 2
       ), paired as (
         select study_instance_uid, min(created_at) as created_at from answers group by 1 having count(*) = 2
       ), reviewed as (
         select distinct on (f.study_instance_uid) f.study_instance_uid, r.created_at as decided_at,
                case when r.reason_code = 'poor-image-quality' then null
                     when r.decision = 'accept' then f.positive
                     when f.positive and r.reason_code = 'wrong-location' then true
                     else not f.positive end as says_positive
           from reviews r join findings f on f.id = r.finding_id
          where f.label = $5 and f.probability is not null and f.deployment = 'clinical' and f.study_instance_uid in (select study_instance_uid from paired)
          order by f.study_instance_uid, r.id desc
       ), added as (
         select study_instance_uid, max(created_at) as added_at from reader_findings
          where label = $5 and study_instance_uid in (select study_instance_uid from paired) group by 1
       )
       select p.study_instance_uid, coalesce(st.patient_id, p.study_instance_uid) as patient_key,
              (select row_to_json(x) from answers x where x.study_instance_uid = p.study_instance_uid and x.side = 'a') as a,
              (select row_to_json(x) from answers x where x.study_instance_uid = p.study_instance_uid and x.side = 'b') as b,
              case when ad.study_instance_uid is not null then true else rv.says_positive end as says_positive,
              case when ad.study_instance_uid is not null then greatest(ad.added_at, rv.decided_at)
                   when rv.says_positive is not null then rv.decided_at end as decided_at
         from paired p join studies st on st.study_instance_uid = p.study_instance_uid
         left join reviewed rv on rv.study_instance_uid = p.study_instance_uid
         left join added ad on ad.study_instance_uid = p.study_instance_uid
        order by p.created_at, p.study_instance_uid
        limit $9`,
      [q.a.id, q.a.version, q.b.id, q.b.version, q.label, q.from?.toISOString() ?? null, q.to?.toISOString() ?? null, q.sites ?? null, q.limit]);
    return rows.map((r) => ({
      studyInstanceUid: r.study_instance_uid,
      patientKey: r.patient_key,
      a: answerOf(r.a),
      b: answerOf(r.b),
      readerSaysPositive: r.says_positive,
      decidedAt: r.decided_at === null ? null : new Date(r.decided_at).toISOString(),
    }));
  },
};

interface AnswerRow { applicable: boolean; positive: boolean; not_applicable_code: string | null; processing_ms: number[]; shadow: boolean }
interface ComparedStudyRow {
  study_instance_uid: string; patient_key: string; a: AnswerRow; b: AnswerRow;
  says_positive: boolean | null; decided_at: string | Date | null;
}

const answerOf = (r: AnswerRow): ComparedAnswer => ({
  applicable: r.applicable,
  positive: r.positive,
  notApplicableCode: r.applicable ? null : r.not_applicable_code,
  processingMs: r.processing_ms,
  shadow: r.shadow,
});
