/**
 * Surveillance counts and alerts (migration 022). Counts are derived by SQL from the rows that
 * hold the facts and stored per (site, signal, local day), so the detection run and the screen
 * read a few rows; alerts are upserted by their derived id with their evidence, each raised and
 * each acknowledgement audited in its transaction. What counts as a case (fever threshold, which
 * models are clinical) is decided by the caller (pipeline/surveillance.ts): no clinical rule here.
 */
import type { SurveillanceAlert } from '../contract/surveillance.ts';
import { appendAudits, auditedTransaction, type AuditEntry } from './audit.ts';
import type { Queryable } from './db.ts';
import { iso, NotFoundError, optional, type StoreContext } from './shared.ts';
import { sitesParam, type SiteScope } from './sites.ts';
import { CLINICAL_FINDINGS } from './clinical-findings.ts';

/** What a case is, for the counts: given by the caller. */
export interface CountDefinitions {
  /** IANA time zone whose calendar days the counts are of (config LANTERN_TIMEZONE). */
  timeZone: string;
  /** Model ids whose positive findings count as `ai-positive:<label>` (the served, clinical ones). */
  clinicalModels: readonly string[];
  /** Fever: a temperature at or above this, °C. */
  feverCelsius: number;
  /** Tachypnoea: a respiratory rate at or above this, per minute. */
  tachypnoeaPerMin: number;
}

/** Signals that are denominators, not cases: every day has them even when nothing was found. */
export const DENOMINATOR_SIGNALS = { studies: 'studies', assessments: 'assessments', consultations: 'consultations' } as const;

export interface CountRow {
  siteId: string;
  signal: string;
  day: string;
  count: number;
}

export type SurveillanceAlertStatus = SurveillanceAlert['status'];

export interface SurveillanceAlertInput {
  id: string;
  policyId: string;
  policyVersion: string;
  signal: string;
  scopeKind: 'site' | 'group' | 'multi-point';
  /** The site, or the parent site of the group. */
  scopeId: string;
  day: string;
  method: string;
  sites: readonly string[];
  evidence: Record<string, unknown>;
}

export interface SurveillanceAlertRecord extends SurveillanceAlertInput {
  status: SurveillanceAlertStatus;
  raisedAt: string;
  acknowledgement?: { by: string; at: string; note: string };
  withdrawal?: SurveillanceWithdrawal & { at: string };
}

/** Why a run withdraws an open alert (contract/surveillance.ts `withdrawal`, less the time the store sets). */
export interface SurveillanceWithdrawal {
  runDay: string;
  reason: string;
  verdict?: Record<string, unknown>;
}

/**
 * One part of the count: a select of (site_id, signal, day, count) over the statement's `$1`
 * (from, a date), `$2` (to, inclusive), `$3` (time zone), `$4` (clinical model ids), `$5`
 * (fever °C), `$6` (tachypnoea /min); `needs` names the tables it reads that a migration of
 * another feature adds — a part whose table is not there yet is left out.
 */
interface CountPart {
  needs?: string;
  /** The select, given the tables of `OPTIONAL_TABLES` that exist. */
  sql: string | ((present: ReadonlySet<string>) => string);
}

/** Tables another feature's migration adds, which a part reads when they are there. */
const OPTIONAL_TABLES = ['consultations', 'vital_observations'];

/** Calendar days [$1, $2] of zone $3 as a timestamptz range on `column`. */
const inDays = (column: string) => `${column} >= ($1::date::timestamp at time zone $3) and ${column} < (($2::date + 1)::timestamp at time zone $3)`;
const localDay = (column: string) => `(${column} at time zone $3)::date`;

/** Studies by the day they were received: the denominator of the imaging signals, and the day their findings count on. */
const STUDIES = `select study_instance_uid, site_id, ${localDay('received_at')} as day from studies where ${inDays('received_at')}`;

/** A patient (per site; a study without a Patient ID is its own patient) assessed at the bedside on a day, fever and tachypnoea flagged. */
const ASSESSED = `
  select s.site_id, ${localDay('c.recorded_at')} as day, coalesce(s.patient_id, s.study_instance_uid) as patient,
         (c.clinical #>> '{scoreInputs,news2,temperature}')::float8 >= $5 as fever,
         (c.clinical #>> '{scoreInputs,news2,respiratoryRate}')::float8 >= $6 as tachypnoea
    from study_clinical c join studies s on s.study_instance_uid = c.study_instance_uid
   where ${inDays('c.recorded_at')}`;

/** A patient with a home or wearable temperature or respiratory rate reading on a day (migration 021), flagged the same way. */
const MEASURED_AT_HOME = `
  select site_id, ${localDay('effective_at')} as day, patient_id as patient,
         parameter = 'temperature' and value >= $5 as fever, parameter = 'respiratoryRate' and value >= $6 as tachypnoea
    from vital_observations where parameter in ('temperature', 'respiratoryRate') and ${inDays('effective_at')}`;

const COUNT_PARTS: CountPart[] = [
  { sql: `select site_id, '${DENOMINATOR_SIGNALS.studies}' as signal, day, count(*) as count from (${STUDIES}) s group by 1, 2, 3` },
  {
    // One per study and label, whatever the number of images or models: the leaders table keeps one finding per (model, label, claim).
    sql: `select s.site_id, 'ai-positive:' || l.label as signal, s.day, count(distinct s.study_instance_uid) as count
            from (${STUDIES}) s join study_finding_leaders l on l.study_instance_uid = s.study_instance_uid
           where l.claim = 'positive' and split_part(l.model_key, '@', 1) = any($4::text[])
           group by 1, 2, 3`,
  },
  {
    // A positive AI finding whose latest review accepts it, or a finding the reader added.
    sql: `select site_id, 'reader-confirmed:' || label as signal, day, count(distinct study) as count from (
            select s.site_id, s.day, s.study_instance_uid as study, f.label
              from (${STUDIES}) s join ${CLINICAL_FINDINGS} f on f.study_instance_uid = s.study_instance_uid
             where f.positive and f.probability is not null
               and (select r.decision from reviews r where r.finding_id = f.id order by r.id desc limit 1) = 'accept'
            union all
            select s.site_id, s.day, s.study_instance_uid, rf.label
              from (${STUDIES}) s join reader_findings rf on rf.study_instance_uid = s.study_instance_uid
          ) c group by 1, 2, 3`,
  },
  {
    // Per patient per day, whichever way they were measured (bedside assessment, home readings) and however often.
    sql: (present) => `select site_id, signal, day, count(*) as count from (
            select site_id, day, patient, unnest(array['${DENOMINATOR_SIGNALS.assessments}']
              || case when bool_or(fever) then array['fever'] else '{}'::text[] end
              || case when bool_or(tachypnoea) then array['tachypnoea'] else '{}'::text[] end) as signal
              from (${ASSESSED}${present.has('vital_observations') ? ` union all ${MEASURED_AT_HOME}` : ''}) m
             group by site_id, day, patient
          ) m group by 1, 2, 3`,
  },
  {
    needs: 'consultations',
    // By the asking site and the day asked (when the patient presented); a case counts under its recommendation once answered.
    sql: `select from_site_id as site_id, signal, ${localDay('asked_at')} as day, count(*) as count from (
            select from_site_id, asked_at, unnest(array['${DENOMINATOR_SIGNALS.consultations}']
              || case when status = 'answered' then array['consultation:' || (opinion->>'recommendation')] else '{}'::text[] end) as signal
              from consultations where ${inDays('asked_at')} and status <> 'withdrawn'
          ) c group by 1, 2, 3`,
  },
];

/** The surveillance reads and writes, each given the store's context first (bindContext). */
export const surveillanceAccess = {
  /**
   * Recomputes every signal's counts for the local days [from, to] from the rows that hold the facts.
   *
   * Contract: one transaction; the range's rows are deleted and inserted again, so running it
   * twice (or for an overlapping range) leaves the same rows; a day with no case has no row
   * for that signal (its denominator row says how many were seen). Returns the rows written.
   */
  async recomputeSurveillanceCounts({ db }: StoreContext, range: { from: string; to: string }, definitions: CountDefinitions): Promise<number> {
    return db.transaction(async (tx) => {
      const present = await presentTables(tx);
      const parts = COUNT_PARTS.filter((p) => !p.needs || present.has(p.needs)).map((p) => (typeof p.sql === 'string' ? p.sql : p.sql(present)));
      await tx.query('delete from surveillance_counts where day between $1::date and $2::date', [range.from, range.to]);
      const { rows } = await tx.query<{ written: number }>(
        `with counted as (${parts.join('\n union all\n')}),
         written as (
           insert into surveillance_counts (site_id, signal, day, count)
           select site_id, signal, day, count from counted where count > 0
           on conflict (site_id, signal, day) do update set count = excluded.count, computed_at = now()
           returning 1
         ) select count(*)::int as written from written`,
        [range.from, range.to, definitions.timeZone, definitions.clinicalModels, definitions.feverCelsius, definitions.tachypnoeaPerMin]);
      return rows[0].written;
    });
  },

  /** Stored counts of `signals` over [from, to] at the sites in `scope` (absent rows are zero days). */
  async surveillanceCounts({ db }: StoreContext, query: { signals: readonly string[]; from: string; to: string }, scope: SiteScope): Promise<CountRow[]> {
    const { rows } = await db.query<{ site_id: string; signal: string; day: string; count: number }>(
      `select site_id, signal, day::text as day, count from surveillance_counts
        where signal = any($1) and day between $2::date and $3::date and ($4::text[] is null or site_id = any($4))
        order by site_id, signal, day`,
      [query.signals, query.from, query.to, sitesParam(scope)]);
    return rows.map((r) => ({ siteId: r.site_id, signal: r.signal, day: r.day, count: Number(r.count) }));
  },

  /** The case signals counted on some day in [from, to] at the sites in `scope`, with their totals: what can be watched. */
  async surveillanceSignals({ db }: StoreContext, range: { from: string; to: string }, scope: SiteScope): Promise<{ signal: string; total: number }[]> {
    const { rows } = await db.query<{ signal: string; total: number }>(
      `select signal, sum(count)::int as total from surveillance_counts
        where day between $1::date and $2::date and not (signal = any($3)) and ($4::text[] is null or site_id = any($4))
        group by signal order by signal`,
      [range.from, range.to, Object.values(DENOMINATOR_SIGNALS), sitesParam(scope)]);
    return rows;
  },

  /**
   * Raises alerts (actor `system:surveillance` or the admin who ran the detection).
   *
   * Contract: one audited transaction; each alert is inserted unless its id exists (an alert
   * once raised keeps the evidence it was raised on and its acknowledgement), and each new
   * one gets one `surveillance.alert-raised` record keyed by its id. Returns the ids raised now.
   */
  async raiseSurveillanceAlerts({ db }: StoreContext, alerts: readonly SurveillanceAlertInput[], actor: string): Promise<string[]> {
    if (alerts.length === 0) return [];
    return auditedTransaction(db, async (tx) => {
      const { rows } = await tx.query<{ id: string }>(
        `insert into surveillance_alerts (id, policy_id, policy_version, signal, scope_kind, scope_id, day, method, sites, evidence)
         select a.id, a.policy_id, a.policy_version, a.signal, a.scope_kind, a.scope_id, a.day, a.method, a.sites, a.evidence
           from json_populate_recordset(null::surveillance_alerts, $1::json) a
         on conflict (id) do nothing returning id`,
        [JSON.stringify(alerts.map((a) => ({
          id: a.id, policy_id: a.policyId, policy_version: a.policyVersion, signal: a.signal, scope_kind: a.scopeKind,
          scope_id: a.scopeId, day: a.day, method: a.method, sites: a.sites, evidence: a.evidence,
        })))]);
      const raised = new Set(rows.map((r) => r.id));
      const entries: AuditEntry[] = alerts.filter((a) => raised.has(a.id)).map((a) => ({
        actor, action: 'surveillance.alert-raised', entityType: 'surveillance-alert', entityId: a.id,
        payload: { policy: { id: a.policyId, version: a.policyVersion }, signal: a.signal, scope: { kind: a.scopeKind, id: a.scopeId }, day: a.day, method: a.method, sites: a.sites, evidence: a.evidence },
        idempotencyKey: `surveillance.alert-raised:${a.id}`,
      }));
      if (entries.length > 0) await appendAudits(tx, entries);
      return [...raised];
    });
  },

  /**
   * Withdraws open alerts whose day no longer alarms (actor `system:surveillance` or the admin who ran the detection).
   *
   * Contract: one audited transaction; an alert still open becomes `withdrawn` with when and why,
   * and gets one `surveillance.alert-withdrawn` record keyed by its id; one acknowledged (or
   * withdrawn) meanwhile is left as it is. Returns the ids withdrawn now.
   */
  async withdrawSurveillanceAlerts({ db }: StoreContext, withdrawals: ReadonlyMap<string, SurveillanceWithdrawal>, actor: string): Promise<string[]> {
    if (withdrawals.size === 0) return [];
    return auditedTransaction(db, async (tx) => {
      // What the audit record names; qualified, as `id` and `withdrawal` are the joined set's names too.
      const { rows } = await tx.query<Pick<AlertRow, 'id' | 'signal' | 'day' | 'scope_kind' | 'scope_id' | 'method'>>(
        `update surveillance_alerts a set status = 'withdrawn', withdrawn_at = now(), withdrawal = w.withdrawal
           from jsonb_each($1::jsonb) w (id, withdrawal)
          where a.id = w.id and a.status = 'open'
          returning a.id, a.signal, a.day::text as day, a.scope_kind, a.scope_id, a.method`,
        [JSON.stringify(Object.fromEntries(withdrawals))]);
      if (rows.length > 0) {
        await appendAudits(tx, rows.map((row) => ({
          actor, action: 'surveillance.alert-withdrawn', entityType: 'surveillance-alert', entityId: row.id,
          payload: { signal: row.signal, day: row.day, scope: { kind: row.scope_kind, id: row.scope_id }, method: row.method, ...withdrawals.get(row.id) },
          idempotencyKey: `surveillance.alert-withdrawn:${row.id}`,
        })));
      }
      return rows.map((row) => row.id);
    });
  },

  /** The open alerts of one policy version on days in [from, to]: what a run judges again. */
  async openSurveillanceAlerts({ db }: StoreContext, query: { policyId: string; policyVersion: string; from: string; to: string }): Promise<SurveillanceAlertRecord[]> {
    const { rows } = await db.query<AlertRow>(
      `select ${ALERT_COLUMNS} from surveillance_alerts
        where status = 'open' and policy_id = $1 and policy_version = $2 and day between $3::date and $4::date`,
      [query.policyId, query.policyVersion, query.from, query.to]);
    return rows.map(alertOf);
  },

  /** Alerts touching a site in `scope` (one of its sites, or the parent of its group), newest day first; `status` filters. */
  async listSurveillanceAlerts({ db }: StoreContext, query: { status?: SurveillanceAlertStatus; limit: number }, scope: SiteScope): Promise<SurveillanceAlertRecord[]> {
    const { rows } = await db.query<AlertRow>(
      `select ${ALERT_COLUMNS} from surveillance_alerts
        where ($1::text is null or status = $1) and ($2::text[] is null or sites && $2::text[] or scope_id = any($2))
        order by day desc, raised_at desc, id limit $3`,
      [query.status ?? null, sitesParam(scope), query.limit]);
    return rows.map(alertOf);
  },

  /**
   * Acknowledges an alert with a note (the authenticated user).
   *
   * Contract: one audited transaction; the row and `surveillance.alert-acknowledged` (actor,
   * note). NotFoundError for an alert with no site in `scope`. An alert already acknowledged is
   * returned as it is, nothing written: the first acknowledgement stands.
   */
  async acknowledgeSurveillanceAlert({ db }: StoreContext, id: string, note: string, actor: string, scope: SiteScope): Promise<{ alert: SurveillanceAlertRecord; changed: boolean }> {
    return auditedTransaction(db, async (tx) => {
      const current = await alertInScope(tx, id, scope);
      if (current.status === 'acknowledged') return { alert: current, changed: false };
      const { rows: [row] } = await tx.query<AlertRow>(
        `update surveillance_alerts set status = 'acknowledged', acknowledged_by = $2, acknowledged_at = now(), acknowledgement_note = $3
          where id = $1 returning ${ALERT_COLUMNS}`, [id, actor, note]);
      await appendAudits(tx, [{
        actor, action: 'surveillance.alert-acknowledged', entityType: 'surveillance-alert', entityId: id,
        payload: { note, signal: current.signal, day: current.day, scope: { kind: current.scopeKind, id: current.scopeId } },
      }]);
      return { alert: alertOf(row), changed: true };
    });
  },
};

const ALERT_COLUMNS = 'id, policy_id, policy_version, signal, scope_kind, scope_id, day::text as day, method, sites, evidence, status, raised_at, acknowledged_by, acknowledged_at, acknowledgement_note, withdrawn_at, withdrawal';

interface AlertRow {
  id: string;
  policy_id: string;
  policy_version: string;
  signal: string;
  scope_kind: SurveillanceAlertInput['scopeKind'];
  scope_id: string;
  day: string;
  method: string;
  sites: string[];
  evidence: Record<string, unknown>;
  status: SurveillanceAlertRecord['status'];
  raised_at: Date | string;
  acknowledged_by: string | null;
  acknowledged_at: Date | string | null;
  acknowledgement_note: string | null;
  withdrawn_at: Date | string | null;
  withdrawal: SurveillanceWithdrawal | null;
}

function alertOf(row: AlertRow): SurveillanceAlertRecord {
  return {
    id: row.id, policyId: row.policy_id, policyVersion: row.policy_version, signal: row.signal, scopeKind: row.scope_kind, scopeId: row.scope_id,
    day: row.day, method: row.method, sites: row.sites, evidence: row.evidence, status: row.status, raisedAt: iso(row.raised_at),
    ...(row.acknowledged_by && { acknowledgement: { by: row.acknowledged_by, at: iso(row.acknowledged_at!), note: optional(row.acknowledgement_note) ?? '' } }),
    ...(row.withdrawal && { withdrawal: { ...row.withdrawal, at: iso(row.withdrawn_at!) } }),
  };
}

async function alertInScope(db: Queryable, id: string, scope: SiteScope): Promise<SurveillanceAlertRecord> {
  const { rows: [row] } = await db.query<AlertRow>(
    `select ${ALERT_COLUMNS} from surveillance_alerts where id = $1 and ($2::text[] is null or sites && $2::text[] or scope_id = any($2)) for update`, [id, sitesParam(scope)]);
  if (!row) throw new NotFoundError(`surveillance alert ${id} does not exist`);
  return alertOf(row);
}

/** Which of OPTIONAL_TABLES exist in this database (another feature's migration may not be there yet). */
async function presentTables(db: Queryable): Promise<Set<string>> {
  const { rows } = await db.query<{ name: string }>('select name from unnest($1::text[]) name where to_regclass(name) is not null', [OPTIONAL_TABLES]);
  return new Set(rows.map((r) => r.name));
}
