/**
 * Home vital signs (migration 021): readings, the NEWS2 series over them and the escalation
 * alerts. Ingest is one audited transaction for the whole request — readings of every patient
 * in it, the re-evaluated NEWS2 points, the alerts raised and their audit records — so a
 * request is stored whole or not at all, and sending it again stores nothing and raises nothing.
 *
 * The store holds no clinical logic: the NEWS2 evaluation and the episode rule are handed in
 * (pipeline/vitals/), and run inside the transaction over what the database holds.
 *
 * About 300 lines, and `ingestPatient` a little over 80, on purpose: the ingest is one
 * transaction read top to bottom (readings, series, episode, alerts, audit), which splitting
 * would scatter across helpers that share its half-written state.
 */
import type { EscalationLevel, EscalationReason, News2Point, StoredObservation, VitalAlert, VitalParameter } from '../contract/vitals.ts';
import { appendAudit, auditedTransaction, type AuditedTx } from './audit.ts';
import type { Queryable } from './db.ts';
import { patientKeySql } from './fhir-reads.ts';
import { iso, NotFoundError, optional, type StoreContext } from './shared.ts';
import { sitesParam, type SiteScope } from './sites.ts';

/** A reading checked by the NEWS2 card, as stored. */
export interface VitalReadingInput {
  parameter: VitalParameter;
  /** In the card's canonical unit; an ACVPU level; true/false for supplemental oxygen. */
  value: number | string | boolean;
  unit?: string;
  original: { value: string; unit?: string };
  at: Date;
  deviceId: string;
  source: 'fhir' | 'json';
}

export interface SeriesReadingRow {
  parameter: VitalParameter;
  value: number | string | boolean;
  at: Date;
  deviceId: string;
}

export interface EvaluatedPoint {
  at: Date;
  score: number;
  band: string;
  escalation: EscalationLevel | null;
  reasons: EscalationReason[];
  /** Term → points (the card's terms: `airOrOxygen` is the oxygen line). */
  points: Record<string, number>;
  inputs: Record<string, { value: number | string | boolean; from: Date; carried: boolean }>;
  model: { id: string; version: string };
}

/** The clinical rules the ingest runs inside its transaction (pipeline/vitals/news2-series.ts). */
export interface VitalsRules {
  /** Readings older than the first new one by this much are read for carrying forward. */
  lookbackMs: number;
  /** NEWS2 at each reading time in [from, to] with a complete set. */
  evaluate(readings: SeriesReadingRow[], from: Date, to: Date): EvaluatedPoint[];
  /** The alerts the episode rule raises over consecutive points. */
  alerts(points: { at: Date; escalation: EscalationLevel | null }[]): { at: Date; level: EscalationLevel; episodeStart: Date }[];
  /** How far back an alert's trend reaches. */
  trendMs: number;
}

export interface PatientIngest {
  siteId: string;
  patientId: string;
  patientKey: string;
  stored: number;
  duplicates: number;
  evaluated: number;
  alertsRaised: number[];
  /** `parameter|device|ISO time` of each reading stored (the others were already held). */
  storedKeys: Set<string>;
  /** The patient's latest NEWS2 point when this request changed it. */
  latestChanged?: EvaluatedPoint;
}

interface News2Row {
  evaluated_at: Date | string;
  score: number;
  band: string;
  escalation: EscalationLevel | null;
  reasons: EscalationReason[];
  points: Record<string, number>;
  inputs: Record<string, { value: number | string | boolean; from: string; carried: boolean }>;
  model: { id: string; version: string };
}

interface AlertRow {
  id: string;
  site_id: string;
  patient_id: string;
  patient_key: string;
  patient_name: string | null;
  level: EscalationLevel;
  score: number;
  band: string;
  reasons: EscalationReason[];
  trend: { at: string; score: number }[];
  raised_at: Date | string;
  status: 'open' | 'acknowledged';
  acknowledged_by: string | null;
  acknowledged_at: Date | string | null;
}

/** Alerts one list answers at most: the newest. */
const ALERTS_LISTED = 200;
/** Readings and NEWS2 points one patient view holds at most (a week of 5-minute readings of every parameter is ~14,000). */
const PATIENT_ROWS = 20_000;

const KEY_OF = patientKeySql('$1::text', '$2::text');

export const vitalsAccess = {
  /**
   * Contract: one audited transaction for all `patients`. Per patient: the readings inserted
   * (a reading already held — same device, parameter, time — is skipped); when any is new, the
   * NEWS2 points from the first new reading to the last plus the longest carry-forward are
   * (re-)evaluated and upserted, the episode rule run over the series from the last
   * non-escalated point before them, each new alert inserted under its key with
   * `vital-alert.raised`, and `vitals.recorded` appended (counts, devices, latest NEWS2).
   * A patient with nothing new changes nothing and appends nothing.
   */
  async ingestVitals({ db }: StoreContext, patients: { siteId: string; patientId: string; observations: VitalReadingInput[] }[], actor: string, rules: VitalsRules): Promise<PatientIngest[]> {
    return auditedTransaction(db, async (tx) => {
      const out: PatientIngest[] = [];
      for (const p of patients) out.push(await ingestPatient(tx, p, actor, rules));
      return out;
    });
  },

  /** Studies of the patient at the site received since `since`, newest first: those a new NEWS2 re-triages. */
  async recentPatientStudies({ db }: StoreContext, siteId: string, patientId: string, since: Date): Promise<string[]> {
    const { rows } = await db.query<{ study_instance_uid: string }>(
      'select study_instance_uid from studies where site_id = $1 and patient_id = $2 and received_at >= $3 order by received_at desc limit 20', [siteId, patientId, since]);
    return rows.map((r) => r.study_instance_uid);
  },

  /** The patient key of a study's patient within `scope` (none without a Patient ID), and whether that patient has home readings; undefined for a study outside scope. */
  async studyHomeVitals({ db }: StoreContext, studyInstanceUid: string, scope: SiteScope): Promise<{ patientKey?: string; hasVitals: boolean } | undefined> {
    const { rows: [row] } = await db.query<{ patient_key: string | null; has_vitals: boolean }>(
      `select case when s.patient_id <> '' then ${patientKeySql('s.site_id', 's.patient_id')} end as patient_key,
              exists (select 1 from vital_observations o where o.site_id = s.site_id and o.patient_id = s.patient_id) as has_vitals
         from studies s where s.study_instance_uid = $1 and ($2::text[] is null or s.site_id = any($2))`,
      [studyInstanceUid, sitesParam(scope)]);
    return row && { patientKey: optional(row.patient_key), hasVitals: row.has_vitals };
  },

  /** The patient's latest NEWS2 point at the site, if any: what a consultation about their home vital signs is triaged by. */
  async latestNews2({ db }: StoreContext, siteId: string, patientId: string): Promise<EvaluatedPoint | undefined> {
    return latestPoint(db, siteId, patientId);
  },

  /** The assessment stored on a study (study_clinical), if any: what a new home NEWS2 is merged into. */
  async studyClinical({ db }: StoreContext, studyInstanceUid: string): Promise<Record<string, unknown> | undefined> {
    const { rows: [row] } = await db.query<{ clinical: Record<string, unknown> }>('select clinical from study_clinical where study_instance_uid = $1', [studyInstanceUid]);
    return row?.clinical;
  },

  /** A patient's readings, NEWS2 points and alerts in [from, to], within `scope`; NotFoundError when the patient has none there. */
  async patientVitals({ db }: StoreContext, patientKey: string, scope: SiteScope, from: Date, to: Date) {
    const { rows: [who] } = await db.query<{ site_id: string; patient_id: string }>(
      `select site_id, patient_id from vital_observations where patient_key = $1 and ($2::text[] is null or site_id = any($2)) limit 1`, [patientKey, sitesParam(scope)]);
    if (!who) throw new NotFoundError('no vital signs of this patient at your sites');
    const [observations, news2, alerts] = await Promise.all([
      db.query<{ parameter: VitalParameter; value: number | null; value_code: string | null; unit: string | null; original_value: string; original_unit: string | null; effective_at: Date | string; device_id: string; source: 'fhir' | 'json' }>(
        `select parameter, value, value_code, unit, original_value, original_unit, effective_at, device_id, source from vital_observations
          where site_id = $1 and patient_id = $2 and effective_at between $3 and $4 order by effective_at desc, parameter desc limit ${PATIENT_ROWS}`, [who.site_id, who.patient_id, from, to]),
      db.query<News2Row>(`select * from vital_news2 where site_id = $1 and patient_id = $2 and evaluated_at between $3 and $4 order by evaluated_at desc limit ${PATIENT_ROWS}`, [who.site_id, who.patient_id, from, to]),
      alertRows(db, 'a.site_id = $1 and a.patient_id = $2 and a.raised_at between $3 and $4', [who.site_id, who.patient_id, from, to]),
    ]);
    return {
      siteId: who.site_id,
      patientId: who.patient_id,
      // Newest first in SQL, so a period over the bound keeps its latest rows; oldest first here, as a trend reads.
      observations: observations.rows.reverse().map((r): StoredObservation => ({
        parameter: r.parameter,
        value: r.value ?? codeValue(r.value_code!),
        ...(r.unit ? { unit: r.unit } : {}),
        original: { value: r.original_value, ...(r.original_unit ? { unit: r.original_unit } : {}) },
        at: iso(r.effective_at), deviceId: r.device_id, source: r.source,
      })),
      news2: news2.rows.reverse().map(pointOf),
      alerts,
    };
  },

  /** Alerts of patients at the sites of `scope`, newest first, of one status if given. */
  async vitalAlerts({ db }: StoreContext, scope: SiteScope, status?: 'open' | 'acknowledged'): Promise<AlertRecord[]> {
    return alertRows(db, '($1::text[] is null or a.site_id = any($1)) and ($2::text is null or a.status = $2)', [sitesParam(scope), status ?? null]);
  },

  /**
   * Acknowledges an alert within `scope` (NotFoundError otherwise). Contract: one audited
   * transaction: status, who and when, and `vital-alert.acknowledged`. Acknowledging it again
   * changes nothing and appends nothing.
   */
  async acknowledgeVitalAlert({ db }: StoreContext, id: number, actor: string, scope: SiteScope): Promise<AlertRecord> {
    return auditedTransaction(db, async (tx) => {
      const { rows: [row] } = await tx.query<{ status: string; site_id: string; patient_key: string; level: string }>(
        'select status, site_id, patient_key, level from vital_alerts where id = $1 and ($2::text[] is null or site_id = any($2)) for update', [id, sitesParam(scope)]);
      if (!row) throw new NotFoundError(`no vital-sign alert ${id} at your sites`);
      if (row.status === 'open') {
        await tx.query(`update vital_alerts set status = 'acknowledged', acknowledged_by = $2, acknowledged_at = now() where id = $1`, [id, actor]);
        await appendAudit(tx, { actor, action: 'vital-alert.acknowledged', entityType: 'vital-alert', entityId: String(id), payload: { siteId: row.site_id, patientKey: row.patient_key, level: row.level } });
      }
      return (await alertRows(tx, 'a.id = $1', [id]))[0];
    });
  },
};

export type AlertRecord = Omit<VitalAlert, 'aiAssisted'>;

async function ingestPatient(tx: AuditedTx, p: { siteId: string; patientId: string; observations: VitalReadingInput[] }, actor: string, rules: VitalsRules): Promise<PatientIngest> {
  const { rows: [{ key }] } = await tx.query<{ key: string }>(`select ${KEY_OF} as key`, [p.siteId, p.patientId]);
  const rows = p.observations.map((o) => ({
    parameter: o.parameter,
    value: typeof o.value === 'number' ? o.value : null,
    value_code: typeof o.value === 'number' ? null : String(o.value),
    unit: o.unit ?? null,
    original_value: o.original.value,
    original_unit: o.original.unit ?? null,
    effective_at: o.at.toISOString(),
    device_id: o.deviceId,
    source: o.source,
  }));
  const inserted = await tx.query<{ parameter: string; device_id: string; effective_at: Date | string }>(
    `insert into vital_observations (site_id, patient_id, patient_key, parameter, value, value_code, unit, original_value, original_unit, effective_at, device_id, source, received_by)
     select $1, $2, $3, r.parameter, r.value, r.value_code, r.unit, r.original_value, r.original_unit, r.effective_at, r.device_id, r.source, $5
       from jsonb_to_recordset($4::jsonb) as r(parameter text, value double precision, value_code text, unit text, original_value text, original_unit text, effective_at timestamptz, device_id text, source text)
     on conflict (site_id, patient_id, device_id, parameter, effective_at) do nothing
     returning parameter, device_id, effective_at`, [p.siteId, p.patientId, key, JSON.stringify(rows), actor]);
  const result: PatientIngest = { siteId: p.siteId, patientId: p.patientId, patientKey: key, stored: inserted.rows.length, duplicates: rows.length - inserted.rows.length, evaluated: 0, alertsRaised: [],
    storedKeys: new Set(inserted.rows.map((r) => readingKey(r.parameter, r.device_id, new Date(r.effective_at)))),
  };
  if (!inserted.rows.length) return result;

  const times = inserted.rows.map((r) => new Date(r.effective_at).getTime());
  const from = new Date(Math.min(...times));
  const to = new Date(Math.max(...times) + rules.lookbackMs);
  const latestBefore = await latestPoint(tx, p.siteId, p.patientId);

  const readings = await tx.query<{ parameter: VitalParameter; value: number | null; value_code: string | null; effective_at: Date | string; device_id: string }>(
    `select parameter, value, value_code, effective_at, device_id from vital_observations
      where site_id = $1 and patient_id = $2 and effective_at between $3 and $4`, [p.siteId, p.patientId, new Date(from.getTime() - rules.lookbackMs), to]);
  const points = rules.evaluate(readings.rows.map((r) => ({ parameter: r.parameter, value: r.value ?? codeValue(r.value_code!), at: new Date(r.effective_at), deviceId: r.device_id })), from, to);
  if (points.length) {
    await tx.query(
      `insert into vital_news2 (site_id, patient_id, patient_key, evaluated_at, score, band, escalation, reasons, points, inputs, model)
       select $1, $2, $3, r.evaluated_at, r.score, r.band, r.escalation, r.reasons, r.points, r.inputs, r.model
         from jsonb_to_recordset($4::jsonb) as r(evaluated_at timestamptz, score double precision, band text, escalation text, reasons jsonb, points jsonb, inputs jsonb, model jsonb)
       on conflict (site_id, patient_id, evaluated_at) do update set score = excluded.score, band = excluded.band, escalation = excluded.escalation,
         reasons = excluded.reasons, points = excluded.points, inputs = excluded.inputs, model = excluded.model, updated_at = now()`,
      [p.siteId, p.patientId, key, JSON.stringify(points.map((pt) => ({ evaluated_at: pt.at.toISOString(), score: pt.score, band: pt.band, escalation: pt.escalation, reasons: pt.reasons, points: pt.points, inputs: pt.inputs, model: pt.model })))]);
  }
  result.evaluated = points.length;

  // The episode rule reads the series from the last calm point before the new ones: an episode under way keeps its start, so its alert is not raised again.
  const series = await tx.query<{ evaluated_at: Date | string; score: number; band: string; escalation: EscalationLevel | null; reasons: EscalationReason[] }>(
    `select evaluated_at, score, band, escalation, reasons from vital_news2
      where site_id = $1 and patient_id = $2 and evaluated_at <= $4
        and evaluated_at >= coalesce((select max(evaluated_at) from vital_news2 where site_id = $1 and patient_id = $2 and evaluated_at < $3 and escalation is null), '-infinity')
      order by evaluated_at`, [p.siteId, p.patientId, from, to]);
  const byTime = new Map(series.rows.map((r) => [new Date(r.evaluated_at).getTime(), r]));
  for (const alert of rules.alerts(series.rows.map((r) => ({ at: new Date(r.evaluated_at), escalation: r.escalation })))) {
    const point = byTime.get(alert.at.getTime())!;
    const trend = series.rows.filter((r) => { const t = new Date(r.evaluated_at).getTime(); return t <= alert.at.getTime() && t >= alert.at.getTime() - rules.trendMs; })
      .map((r) => ({ at: iso(r.evaluated_at), score: r.score }));
    const { rows: [created] } = await tx.query<{ id: string }>(
      `insert into vital_alerts (site_id, patient_id, patient_key, level, score, band, reasons, trend, raised_at, episode_start, idempotency_key)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) on conflict (idempotency_key) do nothing returning id`,
      [p.siteId, p.patientId, key, alert.level, point.score, point.band, JSON.stringify(point.reasons), JSON.stringify(trend), alert.at, alert.episodeStart,
        `${p.siteId}|${key}|${alert.episodeStart.toISOString()}|${alert.level}`]);
    if (!created) continue;
    result.alertsRaised.push(Number(created.id));
    await appendAudit(tx, {
      actor, action: 'vital-alert.raised', entityType: 'vital-alert', entityId: String(created.id),
      payload: { siteId: p.siteId, patientKey: key, level: alert.level, score: point.score, band: point.band, reasons: point.reasons.map((r) => r.code), at: alert.at.toISOString(), episodeStart: alert.episodeStart.toISOString(), trend },
    });
  }

  const latestAfter = await latestPoint(tx, p.siteId, p.patientId);
  if (latestAfter && (!latestBefore || latestAfter.at.getTime() !== latestBefore.at.getTime() || latestAfter.score !== latestBefore.score || latestAfter.band !== latestBefore.band)) {
    result.latestChanged = latestAfter;
  }
  await appendAudit(tx, {
    actor, action: 'vitals.recorded', entityType: 'patient', entityId: key,
    payload: {
      siteId: p.siteId, stored: result.stored, duplicates: result.duplicates, evaluated: result.evaluated, alertsRaised: result.alertsRaised,
      devices: [...new Set(p.observations.map((o) => o.deviceId))], sources: [...new Set(p.observations.map((o) => o.source))],
      from: from.toISOString(), latestNews2: latestAfter ? { at: latestAfter.at.toISOString(), score: latestAfter.score, band: latestAfter.band } : null,
    },
  });
  return result;
}

/** How a stored reading is named to the caller: which of what it sent were new. */
export const readingKey = (parameter: string, deviceId: string, at: Date) => `${parameter}|${deviceId}|${at.toISOString()}`;

async function latestPoint(db: Queryable, siteId: string, patientId: string): Promise<EvaluatedPoint | undefined> {
  const { rows: [row] } = await db.query<News2Row>('select * from vital_news2 where site_id = $1 and patient_id = $2 order by evaluated_at desc limit 1', [siteId, patientId]);
  if (!row) return undefined;
  return { ...pointOf(row), at: new Date(row.evaluated_at), model: row.model, inputs: Object.fromEntries(Object.entries(row.inputs).map(([k, v]) => [k, { ...v, from: new Date(v.from) }])) };
}

function pointOf(r: News2Row): News2Point {
  return {
    at: iso(r.evaluated_at), score: r.score, band: r.band, escalation: r.escalation, reasons: r.reasons, points: r.points,
    inputs: Object.fromEntries(Object.entries(r.inputs).map(([k, v]) => [k, { ...v, from: iso(v.from) }])),
  };
}

/** value_code back to what was stored: oxygen as a boolean, ACVPU as its level. */
const codeValue = (code: string): string | boolean => (code === 'true' ? true : code === 'false' ? false : code);

async function alertRows(db: Queryable, where: string, params: unknown[]): Promise<AlertRecord[]> {
  const { rows } = await db.query<AlertRow>(
    `select a.*, (select s.patient_name from studies s where s.site_id = a.site_id and s.patient_id = a.patient_id order by s.received_at desc limit 1) as patient_name
       from vital_alerts a where ${where} order by a.raised_at desc, a.id desc limit ${ALERTS_LISTED}`, params);
  return rows.map((r) => ({
    id: Number(r.id), siteId: r.site_id, patientKey: r.patient_key, patientId: r.patient_id, ...(r.patient_name ? { patientName: r.patient_name } : {}),
    level: r.level, score: r.score, band: r.band, reasons: r.reasons, trend: r.trend, at: iso(r.raised_at), status: r.status,
    ...(r.acknowledged_by ? { acknowledgedBy: r.acknowledged_by } : {}), ...(r.acknowledged_at ? { acknowledgedAt: iso(r.acknowledged_at) } : {}),
  }));
}
