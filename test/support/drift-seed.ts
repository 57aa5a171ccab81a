import type { DriftObservation } from '../../inference/drift/windows.ts';
import type { Queryable } from '../../store/db.ts';

let batch = 0;

/**
 * Writes one study, instance and finding per observation for `model` (id@version), as the results
 * consumer would store them: the OOD score in `applicability`, the input summary in `input_stats`,
 * `created_at` from the observation's time. Drift reads what was stored, so tests of the drift
 * routes need many inferences without running hundreds of films through a model.
 */
export async function seedDriftInferences(db: Queryable, model: { id: string; version: string }, observations: readonly DriftObservation[]): Promise<string[]> {
  const prefix = `2.25.${Date.now()}.${++batch}`;
  const rows = observations.map((o, i) => ({
    uid: `${prefix}.${i}`, at: o.at, positive: o.outcome === 'positive', refer: o.outcome === 'refer', answered: o.outcome !== 'not-applicable',
    applicability: { applicable: o.outcome !== 'not-applicable', caveats: [], ...(o.oodScore !== null && { outOfDistribution: { score: o.oodScore, threshold: 13 } }) },
    stats: o.inputStats,
  }));
  const json = JSON.stringify(rows);
  const provenance = JSON.stringify({ id: model.id, version: model.version, weightsSha256: 'seed', preprocessing: 'seed' });
  const from = `from json_to_recordset($1::json) as r(uid text, at timestamptz, positive boolean, refer boolean, answered boolean, applicability jsonb, stats jsonb)`;
  await db.query(`insert into studies (study_instance_uid, patient_id, received_at, modality) select uid, 'P' || uid, at, 'CR' ${from}`, [json]);
  await db.query(`insert into series (series_instance_uid, study_instance_uid, modality) select uid || '.1', uid, 'CR' ${from}`, [json]);
  await db.query(`insert into instances (sop_instance_uid, series_instance_uid, study_instance_uid, sop_class_uid, transfer_syntax_uid, modality, blob_sha256, byte_size, status, received_at)
    select uid || '.1.1', uid || '.1', uid, '1.2.840.10008.5.1.4.1.1.1', '1.2.840.10008.1.2', 'CR', repeat('a', 64), 10, 'done', at ${from}`, [json]);
  await db.query(`insert into findings (id, sop_instance_uid, study_instance_uid, label, display, probability, positive, refer, operating_point, model, timing_ms, applicability, input_stats, created_at)
    select 'drift-' || uid, uid || '.1.1', uid, 'pneumonia', 'Pneumonia', case when not answered then null when positive then 0.9 when refer then 0.5 else 0.1 end, positive, refer,
           '{"name": "seed", "threshold": 0.5}'::jsonb, $2::jsonb, '{}'::jsonb, applicability, stats, at ${from}`, [json, provenance]);
  return rows.map((r) => `drift-${r.uid}`);
}
