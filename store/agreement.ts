/** What model teams read: how readers decided on each model version's findings. */
import type { StoreContext } from './shared.ts';
import type { AgreementQuery, AgreementRow } from './types.ts';

/** The agreement query, given the store's context first (bindContext). */
export const agreementReads = {
  /**
   * Agreement between readers and each model version, per label, over the findings
   * created in the query window: one query. A finding's decision is its latest review
   * (an amended decision counts once); time to decision runs from the finding's
   * creation to that review.
   */
  async agreement({ db }: StoreContext, query: AgreementQuery): Promise<AgreementRow[]> {
    const { rows } = await db.query<AgreementGroupRow>(
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
};

/** One (model version, label) group as the query returns it. */
interface AgreementGroupRow {
  model_id: string; model_version: string; label: string; display: string;
  findings: number; decided: number; accepted: number; overridden: number; amended: number;
  median: number | null; p90: number | null;
  override_reasons: { code: string; count: number }[]; by_day: { date: string; decided: number; accepted: number }[]; reader_findings: number;
}
