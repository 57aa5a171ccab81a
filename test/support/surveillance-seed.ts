/**
 * Surveillance test data: many days of studies (with the pneumonia model's finding) and bedside
 * assessments (with NEWS2 temperature and respiratory rate) at several sites, written by SQL in a
 * few statements — thousands of studies through the store's one-transaction-per-image writes would
 * take minutes. The rows are the ones those writes make (studies, series, instances, findings,
 * finding leaders, study_clinical), so the counts read them as they read production rows.
 */
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../config.ts';
import { addDays } from '../../inference/surveillance/series.ts';
import { seededRandom } from '../../inference/seeded-random.ts';
import type { Queryable } from '../../store/db.ts';

/** What one site saw on one local day. */
export interface SeedDay {
  site: string;
  day: string;
  studies: number;
  /** Of `studies`, how many the model called positive. */
  positives: number;
  assessments: number;
  /** Of `assessments`, how many with a temperature ≥ 38.0 °C (and a respiratory rate ≥ 21). */
  fevers: number;
}

const card = JSON.parse(fs.readFileSync(path.join(repoRoot, 'models', 'pneumonia-cxr', 'model.json'), 'utf8')) as { id: string; version: string; weights: { sha256: string } };

let batch = 0;

/** Writes the days' rows; each study and assessment at noon Shanghai time (04:00Z + a minute each), so on its local day in any zone from UTC−3 to UTC+19. */
export async function seedSurveillanceFacts(db: Queryable, days: readonly SeedDay[]): Promise<void> {
  const prefix = `2.25.${Date.now()}.${++batch}`;
  const rows = days.flatMap((d, i) => [
    ...Array.from({ length: d.studies }, (_, k) => ({
      uid: `${prefix}.${i}.${k}`, site: d.site, at: minuteAfterNoon(d.day, k), positive: k < d.positives, temperature: null, rr: null,
    })),
    ...Array.from({ length: d.assessments }, (_, k) => ({
      uid: `${prefix}.${i}.a${k}`, site: d.site, at: minuteAfterNoon(d.day, k), positive: null,
      temperature: k < d.fevers ? 38.6 : 36.8, rr: k < d.fevers ? 24 : 16,
    })),
  ]);
  const json = JSON.stringify(rows);
  const model = JSON.stringify({ id: card.id, version: card.version, weightsSha256: card.weights.sha256, preprocessing: 'seed' });
  const from = `from json_to_recordset($1::json) as r(uid text, site text, at timestamptz, positive boolean, temperature float8, rr float8)`;
  await db.query(`insert into studies (study_instance_uid, site_id, patient_id, received_at, modality) select uid, site, 'P' || uid, at, 'CR' ${from}`, [json]);
  await db.query(`insert into series (series_instance_uid, study_instance_uid, modality) select uid || '.1', uid, 'CR' ${from} where positive is not null`, [json]);
  await db.query(`insert into instances (sop_instance_uid, series_instance_uid, study_instance_uid, sop_class_uid, transfer_syntax_uid, modality, blob_sha256, byte_size, status, received_at)
    select uid || '.1.1', uid || '.1', uid, '1.2.840.10008.5.1.4.1.1.1', '1.2.840.10008.1.2', 'CR', repeat('a', 64), 10, 'done', at ${from} where positive is not null`, [json]);
  await db.query(`insert into findings (id, sop_instance_uid, study_instance_uid, label, display, probability, positive, operating_point, model, timing_ms, created_at)
    select 'f-' || uid, uid || '.1.1', uid, 'pneumonia', 'Pneumonia', case when positive then 0.9 else 0.1 end, positive,
           '{"name": "seed", "threshold": 0.5}'::jsonb, $2::jsonb, '{}'::jsonb, at ${from} where positive is not null`, [json, model]);
  await db.query(`insert into study_finding_leaders (study_instance_uid, model_key, label, claim, finding_id, probability)
    select uid, $2, 'pneumonia', case when positive then 'positive' else 'negative' end, 'f-' || uid, case when positive then 0.9 else 0.1 end
    ${from} where positive is not null`, [json, `${card.id}@${card.version}`]);
  await db.query(`insert into study_clinical (study_instance_uid, clinical, recorded_at)
    select uid, jsonb_build_object('facts', '{}'::jsonb, 'scoreInputs', jsonb_build_object('news2', jsonb_build_object('temperature', temperature, 'respiratoryRate', rr))), at
    ${from} where temperature is not null`, [json]);
}

const minuteAfterNoon = (day: string, k: number) => new Date(Date.parse(`${day}T04:00:00Z`) + k * 60_000).toISOString();

/** A Poisson draw (Knuth's method; fine for the small means of a clinic's day). */
export function poisson(random: () => number, mean: number): number {
  const limit = Math.exp(-mean);
  let k = 0;
  for (let p = random(); p > limit; p *= random()) k += 1;
  return k;
}

/**
 * Background days for `sites` over `days` days ending on `last`: studies and assessments per day
 * Poisson around their means (fewer at weekends), positives and fevers binomial at their rates.
 */
export function backgroundDays(options: { sites: readonly string[]; last: string; days: number; seed: number; studiesMean: number; positiveRate: number; assessmentsMean: number; feverRate: number }): SeedDay[] {
  const random = seededRandom(options.seed);
  const binomial = (n: number, p: number) => Array.from({ length: n }, () => random() < p).filter(Boolean).length;
  const out: SeedDay[] = [];
  for (let i = options.days - 1; i >= 0; i--) {
    const day = addDays(options.last, -i);
    const weekend = [0, 6].includes(new Date(`${day}T00:00:00Z`).getUTCDay()) ? 0.6 : 1;
    for (const site of options.sites) {
      const studies = poisson(random, options.studiesMean * weekend);
      const assessments = poisson(random, options.assessmentsMean * weekend);
      out.push({ site, day, studies, positives: binomial(studies, options.positiveRate), assessments, fevers: binomial(assessments, options.feverRate) });
    }
  }
  return out;
}
