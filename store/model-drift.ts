import type { InputStats } from '../contract/findings.ts';
import type { DriftAlert, DriftAlertInput, DriftQuantity } from '../contract/model-drift.ts';
import { appendAudits, auditedTransaction, type AuditEntry } from './audit.ts';
import type { Queryable } from './db.ts';
import { iso, NotFoundError, optional, type StoreContext } from './shared.ts';

/**
 * Which of a version's inferences a drift read returns: its reference (the first `referenceSize`)
 * and its latest `recentWindows` complete windows of `windowSize`, with the one still filling.
 * Windows before those were evaluated by earlier runs (alerts are kept), so a read costs the same
 * after a year of traffic as after a week.
 */
export interface DriftRead {
  referenceSize: number;
  windowSize: number;
  recentWindows: number;
}

/** One inference as stored: the findings one model version made on one image, folded. */
export interface StoredDriftObservation {
  version: string;
  /** Its place among its version's inferences, oldest first, from 1: where the windows read start. */
  seq: number;
  at: string;
  oodScore: number | null;
  inputStats: InputStats | null;
  outcome: 'positive' | 'refer' | 'negative' | 'not-applicable';
  reviewed: number;
  accepted: number;
}

/**
 * Drift monitoring's reads and alerts. Aggregates per model: no patient identifier leaves here
 * (instances are folded into counts and summaries), so they are not scoped by site.
 */
export const modelDriftAccess = {
  /** Model ids that have made findings (the evaluation run's list). */
  async driftModelIds({ db }: StoreContext): Promise<string[]> {
    const { rows } = await db.query<{ id: string }>(`select distinct model->>'id' as id from findings order by 1`);
    return rows.map((r) => r.id);
  },

  /**
   * A model's inferences per version, oldest first: the reference and the recent windows `read`
   * names (ranked on the findings alone; the OOD score, input summary and reviews are folded for
   * those only). One per (version, instance): the OOD score and input summary are the image's; the
   * outcome is not-applicable if the model did not answer, else refer if any label was in its refer
   * band, positive if any was positive, else negative; reviewed and accepted count the latest
   * decision on each of its findings.
   */
  async driftObservations({ db }: StoreContext, modelId: string, read: DriftRead): Promise<StoredDriftObservation[]> {
    const { rows } = await db.query<{ version: string; seq: string | number; at: Date | string; ood_score: number | null; input_stats: InputStats | null; not_applicable: boolean; refer: boolean; positive: boolean; reviewed: string | number; accepted: string | number }>(
      `with inferences as (
         select model->>'version' as version, sop_instance_uid, min(created_at) as at, array_agg(id) as finding_ids
           from findings where model->>'id' = $1
          group by 1, 2
       ), ranked as (
         select *, row_number() over (partition by version order by at, sop_instance_uid) as seq, count(*) over (partition by version) as total
           from inferences
       ), kept as (
         select * from ranked
          where seq <= $2 or seq > $2 + greatest(0, (total - $2) / $3 - $4) * $3
       )
       select k.version, k.seq, k.at,
              max((f.applicability->'outOfDistribution'->>'score')::float8) as ood_score,
              (array_agg(f.input_stats) filter (where f.input_stats is not null))[1] as input_stats,
              bool_or(f.probability is null) as not_applicable, bool_or(f.refer) as refer, bool_or(f.positive) as positive,
              count(r.decision) as reviewed, count(*) filter (where r.decision = 'accept') as accepted
         from kept k
         cross join lateral unnest(k.finding_ids) as kept_finding(id)
         join findings f on f.id = kept_finding.id
         left join lateral (select decision from reviews where finding_id = f.id order by created_at desc, id desc limit 1) r on true
        group by k.version, k.seq, k.at
        order by k.version, k.seq`, [modelId, read.referenceSize, read.windowSize, read.recentWindows]);
    return rows.map((r) => ({
      version: r.version, seq: Number(r.seq), at: iso(r.at), oodScore: r.ood_score, inputStats: r.input_stats,
      outcome: r.not_applicable ? 'not-applicable' : r.refer ? 'refer' : r.positive ? 'positive' : 'negative',
      reviewed: Number(r.reviewed), accepted: Number(r.accepted),
    }));
  },

  /**
   * Raises drift alerts (actor `system:drift`, or the admin who ran the evaluation).
   *
   * Contract: one audited transaction; each alert is inserted unless one exists for its model,
   * version, quantity and window (it keeps the evidence it was raised on and its
   * acknowledgement), and each new one gets one `model.drift-alert` record keyed by its id.
   * Returns the ids raised now.
   */
  async raiseDriftAlerts({ db }: StoreContext, alerts: readonly DriftAlertInput[], actor: string): Promise<string[]> {
    if (alerts.length === 0) return [];
    return auditedTransaction(db, async (tx) => {
      const { rows } = await tx.query<{ id: string }>(
        `insert into model_drift_alerts (id, model_id, model_version, quantity, window_index, psi, evidence)
         select a.id, a.model_id, a.model_version, a.quantity, a.window_index, a.psi, a.evidence
           from json_populate_recordset(null::model_drift_alerts, $1::json) a
         on conflict do nothing returning id`,
        [JSON.stringify(alerts.map((a) => ({
          id: a.id, model_id: a.modelId, model_version: a.modelVersion, quantity: a.quantity, window_index: a.windowIndex, psi: a.psi, evidence: a.evidence,
        })))]);
      const raised = new Set(rows.map((r) => r.id));
      const entries: AuditEntry[] = alerts.filter((a) => raised.has(a.id)).map((a) => ({
        actor, action: 'model.drift-alert', entityType: 'model-drift-alert', entityId: a.id,
        payload: { model: { id: a.modelId, version: a.modelVersion }, quantity: a.quantity, window: a.windowIndex, psi: a.psi, evidence: a.evidence },
        idempotencyKey: `model.drift-alert:${a.id}`,
      }));
      if (entries.length > 0) await appendAudits(tx, entries);
      return [...raised];
    });
  },

  /** A model's drift alerts, newest first, at most `limit`. */
  async listDriftAlerts({ db }: StoreContext, modelId: string, limit: number): Promise<DriftAlert[]> {
    const { rows } = await db.query<AlertRow>(
      `select ${ALERT_COLUMNS} from model_drift_alerts where model_id = $1 order by raised_at desc, model_version, window_index desc, quantity limit $2`, [modelId, limit]);
    return rows.map(alertOf);
  },

  /**
   * Acknowledges a drift alert with a note (the authenticated user).
   *
   * Contract: one audited transaction; the row and `model.drift-alert-acknowledged` (actor,
   * note). NotFoundError for no such alert. One already acknowledged is returned as it is,
   * nothing written: the first acknowledgement stands.
   */
  async acknowledgeDriftAlert({ db }: StoreContext, id: string, note: string, actor: string): Promise<{ alert: DriftAlert; changed: boolean }> {
    return auditedTransaction(db, async (tx) => {
      const current = await alertById(tx, id);
      if (current.status === 'acknowledged') return { alert: current, changed: false };
      const { rows: [row] } = await tx.query<AlertRow>(
        `update model_drift_alerts set status = 'acknowledged', acknowledged_by = $2, acknowledged_at = now(), acknowledgement_note = $3
          where id = $1 returning ${ALERT_COLUMNS}`, [id, actor, note]);
      await appendAudits(tx, [{
        actor, action: 'model.drift-alert-acknowledged', entityType: 'model-drift-alert', entityId: id,
        payload: { note, model: { id: current.modelId, version: current.modelVersion }, quantity: current.quantity, window: current.windowIndex },
      }]);
      return { alert: alertOf(row), changed: true };
    });
  },
};

const ALERT_COLUMNS = 'id, model_id, model_version, quantity, window_index, psi, evidence, status, raised_at, acknowledged_by, acknowledged_at, acknowledgement_note';

interface AlertRow {
  id: string;
  model_id: string;
  model_version: string;
  quantity: DriftQuantity;
  window_index: number;
  psi: number;
  evidence: Record<string, unknown>;
  status: DriftAlert['status'];
  raised_at: Date | string;
  acknowledged_by: string | null;
  acknowledged_at: Date | string | null;
  acknowledgement_note: string | null;
}

function alertOf(row: AlertRow): DriftAlert {
  return {
    id: row.id, modelId: row.model_id, modelVersion: row.model_version, quantity: row.quantity, windowIndex: row.window_index, psi: row.psi,
    evidence: row.evidence, status: row.status, raisedAt: iso(row.raised_at),
    ...(row.acknowledged_by && { acknowledgement: { by: row.acknowledged_by, at: iso(row.acknowledged_at!), note: optional(row.acknowledgement_note) ?? '' } }),
  };
}

async function alertById(db: Queryable, id: string): Promise<DriftAlert> {
  const { rows: [row] } = await db.query<AlertRow>(`select ${ALERT_COLUMNS} from model_drift_alerts where id = $1 for update`, [id]);
  if (!row) throw new NotFoundError(`drift alert ${id} does not exist`);
  return alertOf(row);
}
