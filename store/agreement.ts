/** What model teams read: how readers decided on each model version's findings, and clinicians on its CDS Hooks cards. */
import { LANTERN_CODE_SYSTEMS } from '../contract/cds-hooks.ts';
import type { StoreContext } from './shared.ts';
import type { AgreementQuery, AgreementRow } from './types.ts';
import { CLINICAL_FINDINGS } from './clinical-findings.ts';

/** The agreement query, given the store's context first (bindContext). */
export const agreementReads = {
  /**
   * Agreement between readers and each model version, per label, over the findings
   * created in the query window. A finding's decision is its latest review
   * (an amended decision counts once); time to decision runs from the finding's
   * creation to that review. Then the same over CDS Hooks cards and their feedback
   * (`CDS_AGREEMENT`), as groups of their own: two queries.
   */
  async agreement({ db }: StoreContext, query: AgreementQuery): Promise<AgreementRow[]> {
    const { rows } = await db.query<AgreementGroupRow>(
      `with scoped as (
         select f.id, f.study_instance_uid, f.label, f.display, f.created_at,
                f.model->>'id' as model_id, f.model->>'version' as model_version
           -- Readers decide on what they are shown: a shadow run's findings are compared in model-comparison.ts instead.
           from ${CLINICAL_FINDINGS} f
          where ($1::timestamptz is null or f.created_at >= $1::timestamptz)
            and ($2::timestamptz is null or f.created_at < $2::timestamptz)
            and ($3::text is null or f.model->>'id' = $3::text)
            and ($4::text[] is null or exists (select 1 from studies st where st.study_instance_uid = f.study_instance_uid and st.site_id = any($4)))
            and f.probability is not null
       ), decided as (
         select distinct on (r.finding_id) s.*, r.decision, r.reason_code, r.created_at as decided_at,
                count(*) over (partition by r.finding_id) as reviews
           from reviews r join scoped s on s.id = r.finding_id
          order by r.finding_id, r.id desc
       ), ${groupsCountedWith(READER_FINDINGS)}`,
      [query.from?.toISOString() ?? null, query.to?.toISOString() ?? null, query.modelId ?? null, query.sites ?? null]);
    const cds = await db.query<AgreementGroupRow>(CDS_AGREEMENT,
      [query.from?.toISOString() ?? null, query.to?.toISOString() ?? null, query.modelId ?? null, LANTERN_CODE_SYSTEMS.overrideReason, query.sites ?? null]);
    return [...rows.map((r) => ({ source: 'reader-review' as const, ...fromGroupRow(r) })), ...cds.rows.map((r) => ({ source: 'cds-hooks' as const, ...fromGroupRow(r) }))];
  },
};

/**
 * What both sources count, given their `scoped` (one row per AI output: id, model_id,
 * model_version, label, display, created_at) and `decided` (its latest decision: decision
 * accept | override, reason_code, decided_at, reviews — more than one when amended) and what
 * counts as a reader finding of the group: the groups and their columns (AgreementGroupRow).
 */
const groupsCountedWith = (readerFindings: string) => `groups as (
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
         ${readerFindings} as reader_findings
    from groups g
   order by g.model_id, g.model_version, g.label`;

/** A reader's own findings in the studies of the group's model version. */
const READER_FINDINGS = `(select count(*)::int from reader_findings rf
   where rf.study_instance_uid in (select s.study_instance_uid from scoped s where (s.model_id, s.model_version) = (g.model_id, g.model_version)))`;

/** A group row as both queries return it, without its source. */
function fromGroupRow(r: AgreementGroupRow): Omit<AgreementRow, 'source'> {
  return {
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
  };
}

/**
 * The same groups over CDS Hooks cards issued in the window (store/cds-hooks.ts), per model
 * version and card kind (label `cds:<kind>`): a card is a "finding", its latest feedback (by the
 * client's outcome time) the decision, a card with more than one outcome "amended", time to
 * decision from issue to outcome. Overrides without a coded reason count as `no-reason-given`; a
 * reason of the client's own code system keeps its system in the code. Cards that carry no model's
 * answer are not counted.
 */
const CDS_AGREEMENT = `
  with scoped as (
    select c.uuid as id, c.model_id, c.model_version, 'cds:' || c.kind as label, 'CDS Hooks ' || c.kind || ' card' as display, c.issued_at as created_at
      from cds_cards c
     where c.model_id is not null
       and ($1::timestamptz is null or c.issued_at >= $1::timestamptz)
       and ($2::timestamptz is null or c.issued_at < $2::timestamptz)
       and ($3::text is null or c.model_id = $3::text)
       and ($5::text[] is null or c.sites && $5::text[])
  ), decided as (
    select distinct on (f.card_uuid) s.*, case f.outcome when 'accepted' then 'accept' else 'override' end as decision,
           greatest(f.outcome_at, s.created_at) as decided_at, -- the client's clock may be behind ours
           case when f.reason_code is null then 'no-reason-given'
                when f.reason_system = $4::text then f.reason_code
                else f.reason_system || '|' || f.reason_code end as reason_code,
           count(*) over (partition by f.card_uuid) as reviews
      from cds_feedback f join scoped s on s.id = f.card_uuid
     order by f.card_uuid, f.outcome_at desc, f.recorded_at desc
  ), ${groupsCountedWith('0')}`;

/** One (model version, label) group as the query returns it. */
interface AgreementGroupRow {
  model_id: string; model_version: string; label: string; display: string;
  findings: number; decided: number; accepted: number; overridden: number; amended: number;
  median: number | null; p90: number | null;
  override_reasons: { code: string; count: number }[]; by_day: { date: string; decided: number; accepted: number }[]; reader_findings: number;
}
