/**
 * The reads the FHIR facade (api/fhir/) needs that no screen does: patients as the studies
 * name them, pages of studies with a total, a study's series and instances with their SOP
 * classes, where a finding or a decision lives, and the calculation and audit records as
 * pages. Every read of patient data takes the caller's site scope: another site's patient or
 * study does not exist here either.
 *
 * A patient is (site, Patient ID) — the same Patient ID at two clinics is two patients, as
 * nothing says they share an issuer. Its FHIR id is a hash of the pair, so neither the
 * Patient ID nor the site appears in a URL or a log line.
 */
import { createHash } from 'node:crypto';
import { auditRecordOf, type AuditRecord, type AuditRow } from './audit.ts';
import type { Queryable } from './db.ts';
import { NotFoundError, optional, type StoreContext } from './shared.ts';
import { sitesParam, type SiteScope } from './sites.ts';
import { CLINICAL_FINDINGS } from './clinical-findings.ts';

/** A patient's FHIR id in SQL, from its site and Patient ID columns: 40 hex of SHA-256 of `site|Patient ID` (the patient key of vitals, store/vitals.ts). */
export const patientKeySql = (site: string, patientId: string) => `substr(encode(sha256(convert_to(${site} || '|' || ${patientId}, 'UTF8')), 'hex'), 1, 40)`;

/** The same key for a site and Patient ID already read (api/routes/consultations.test.ts checks the two agree). */
export const patientKeyOf = (siteId: string, patientId: string) => createHash('sha256').update(`${siteId}|${patientId}`, 'utf8').digest('hex').slice(0, 40);

/** The patient's FHIR id over a studies row `s`. */
const PATIENT_ID_SQL = patientKeySql('s.site_id', 's.patient_id');

/** Studies a patient resource names for the read audit, at most. */
const PATIENT_STUDIES_NAMED = 100;

export interface Paging {
  count: number;
  offset: number;
}

export interface PatientRecord {
  fhirId: string;
  siteId: string;
  patientId: string;
  /** From the patient's newest study. */
  patientName?: string;
  patientSex?: string;
  /** Study Instance UIDs (the first `PATIENT_STUDIES_NAMED`, oldest first): what reading this patient read. */
  studies: string[];
}

export interface PatientFilter {
  scope: SiteScope;
  fhirId?: string;
  patientId?: string;
  siteId?: string;
}

export interface StudyFilter {
  scope: SiteScope;
  studyInstanceUid?: string;
  patientFhirId?: string;
  accessionNumber?: string;
  /** Only studies some model has answered on (what has a DiagnosticReport). */
  withFindings?: boolean;
}

export interface StudyRef {
  studyInstanceUid: string;
  /** Absent when the study carries no Patient ID. */
  patientFhirId?: string;
}

export interface ImagingSeries {
  seriesInstanceUid: string;
  seriesNumber?: number;
  modality?: string;
  bodyPart?: string;
  instances: number;
}

export interface ImagingInstance {
  sopInstanceUid: string;
  seriesInstanceUid: string;
  sopClassUid: string;
  instanceNumber?: number;
}

/** The calculations a RiskAssessment presents: risk models' and published scores' (triage is a policy over them). */
export const CALCULATION_ACTIONS = ['risk.calculated', 'score.calculated'];

export const fhirReads = {
  async fhirPatients({ db }: StoreContext, filter: PatientFilter, page: Paging): Promise<{ total: number; patients: PatientRecord[] }> {
    const { rows } = await db.query<{ fhir_id: string; site_id: string; patient_id: string; patient_name: string | null; patient_sex: string | null; studies: string[]; total: string }>(
      `select *, count(*) over () as total from (
         select ${PATIENT_ID_SQL} as fhir_id, s.site_id, s.patient_id,
                (array_agg(s.patient_name order by s.received_at desc))[1] as patient_name,
                (array_agg(s.patient_sex order by s.received_at desc))[1] as patient_sex,
                (array_agg(s.study_instance_uid order by s.received_at))[1:${PATIENT_STUDIES_NAMED}] as studies
           from studies s
          where s.patient_id is not null and s.patient_id <> '' and ($1::text[] is null or s.site_id = any($1))
            and ($2::text is null or s.patient_id = $2) and ($3::text is null or s.site_id = $3)
          group by s.site_id, s.patient_id) p
        where ($4::text is null or p.fhir_id = $4)
        order by p.fhir_id limit $5 offset $6`,
      [sitesParam(filter.scope), filter.patientId ?? null, filter.siteId ?? null, filter.fhirId ?? null, page.count, page.offset]);
    return {
      total: rows.length ? Number(rows[0].total) : await countPatients(db, filter),
      patients: rows.map((r) => ({
        fhirId: r.fhir_id, siteId: r.site_id, patientId: r.patient_id, patientName: optional(r.patient_name), patientSex: optional(r.patient_sex), studies: r.studies,
      })),
    };
  },

  /** A page of studies, newest first, with the total matching. */
  async fhirStudies({ db }: StoreContext, filter: StudyFilter, page: Paging): Promise<{ total: number; studies: StudyRef[] }> {
    const where = `($1::text[] is null or s.site_id = any($1)) and ($2::text is null or s.study_instance_uid = $2)
      and ($3::text is null or (s.patient_id is not null and s.patient_id <> '' and ${PATIENT_ID_SQL} = $3))
      and ($4::text is null or s.accession_number = $4)
      and (not $5 or exists (select 1 from ${CLINICAL_FINDINGS} f where f.study_instance_uid = s.study_instance_uid))`;
    const params = [sitesParam(filter.scope), filter.studyInstanceUid ?? null, filter.patientFhirId ?? null, filter.accessionNumber ?? null, filter.withFindings ?? false];
    const { rows } = await db.query<{ study_instance_uid: string; patient_fhir_id: string | null; total: string }>(
      `select s.study_instance_uid, case when s.patient_id <> '' then ${PATIENT_ID_SQL} end as patient_fhir_id, count(*) over () as total
         from studies s where ${where} order by s.received_at desc, s.study_instance_uid limit $6 offset $7`, [...params, page.count, page.offset]);
    const total = rows.length ? Number(rows[0].total) : Number((await db.query<{ n: string }>(`select count(*) as n from studies s where ${where}`, params)).rows[0].n);
    return { total, studies: rows.map((r) => ({ studyInstanceUid: r.study_instance_uid, patientFhirId: optional(r.patient_fhir_id) })) };
  },

  /** A page of AI findings, newest first, with the total matching: what an Observation search lists. */
  async fhirFindings({ db }: StoreContext, filter: Omit<StudyFilter, 'accessionNumber' | 'withFindings'>, page: Paging): Promise<{ total: number; findings: (StudyRef & { findingId: string })[] }> {
    const where = `($1::text[] is null or s.site_id = any($1)) and ($2::text is null or s.study_instance_uid = $2)
      and ($3::text is null or (s.patient_id is not null and s.patient_id <> '' and ${PATIENT_ID_SQL} = $3))`;
    const params = [sitesParam(filter.scope), filter.studyInstanceUid ?? null, filter.patientFhirId ?? null];
    const { rows } = await db.query<{ id: string; study_instance_uid: string; patient_fhir_id: string | null; total: string }>(
      `select f.id, s.study_instance_uid, case when s.patient_id <> '' then ${PATIENT_ID_SQL} end as patient_fhir_id, count(*) over () as total
         from ${CLINICAL_FINDINGS} f join studies s on s.study_instance_uid = f.study_instance_uid
        where ${where} order by f.created_at desc, f.id limit $4 offset $5`, [...params, page.count, page.offset]);
    const total = rows.length ? Number(rows[0].total)
      : await count(db, `select count(*) as n from ${CLINICAL_FINDINGS} f join studies s on s.study_instance_uid = f.study_instance_uid where ${where}`, params);
    return { total, findings: rows.map((r) => ({ findingId: r.id, studyInstanceUid: r.study_instance_uid, patientFhirId: optional(r.patient_fhir_id) })) };
  },

  /** A study's series with their counts, and its first `limit` instances in the order received, with their SOP classes. */
  async imagingStudyParts({ db }: StoreContext, studyInstanceUid: string, limit: number): Promise<{ series: ImagingSeries[]; instances: ImagingInstance[] }> {
    const series = await db.query<{ series_instance_uid: string; series_number: number | null; modality: string | null; body_part: string | null; instances: number }>(
      `select r.series_instance_uid, r.series_number, r.modality, r.body_part, count(i.*)::int as instances
         from series r left join instances i on i.series_instance_uid = r.series_instance_uid
        where r.study_instance_uid = $1 group by r.series_instance_uid order by r.series_number nulls last, r.series_instance_uid`, [studyInstanceUid]);
    // Instance Number from the instance's DICOM JSON (migration 016); FHIR's is an unsignedInt, so only such a value is given.
    const instances = await db.query<{ sop_instance_uid: string; series_instance_uid: string; sop_class_uid: string; instance_number: string | null }>(
      `select sop_instance_uid, series_instance_uid, sop_class_uid,
              case when jsonb_typeof(dicom_json -> '00200013' -> 'Value' -> 0) = 'number' then dicom_json -> '00200013' -> 'Value' ->> 0 end as instance_number
         from instances where study_instance_uid = $1 order by received_at, sop_instance_uid limit $2`, [studyInstanceUid, limit]);
    return {
      series: series.rows.map((r) => ({
        seriesInstanceUid: r.series_instance_uid, seriesNumber: optional(r.series_number), modality: optional(r.modality), bodyPart: optional(r.body_part), instances: r.instances,
      })),
      instances: instances.rows.map((r) => ({
        sopInstanceUid: r.sop_instance_uid, seriesInstanceUid: r.series_instance_uid, sopClassUid: r.sop_class_uid, ...unsignedInt(r.instance_number),
      })),
    };
  },

  /**
   * The study a finding, a decision on one (`reviewId`) or a finding a reader added
   * (`readerFindingId`) belongs to, within `scope`, and the AI finding's id (the reader
   * finding's for that one); NotFoundError otherwise.
   */
  async studyOfFinding({ db }: StoreContext, of: { findingId: string } | { reviewId: number } | { readerFindingId: number }, scope: SiteScope): Promise<{ studyInstanceUid: string; findingId: string }> {
    const [sql, key] = 'findingId' in of
      ? [`select f.study_instance_uid, f.id from ${CLINICAL_FINDINGS} f join studies s on s.study_instance_uid = f.study_instance_uid where f.id = $1`, of.findingId]
      : 'reviewId' in of
        ? [`select f.study_instance_uid, f.id from reviews r join ${CLINICAL_FINDINGS} f on f.id = r.finding_id join studies s on s.study_instance_uid = f.study_instance_uid
            where r.id = $1`, of.reviewId]
        : ['select r.study_instance_uid, r.id::text as id from reader_findings r join studies s on s.study_instance_uid = r.study_instance_uid where r.id = $1', of.readerFindingId];
    const { rows: [row] } = await db.query<{ study_instance_uid: string; id: string }>(`${sql} and ($2::text[] is null or s.site_id = any($2))`, [key, sitesParam(scope)]);
    if (!row) throw new NotFoundError('no such finding or decision');
    return { studyInstanceUid: row.study_instance_uid, findingId: row.id };
  },

  /**
   * Risk and score calculations `actor` made, newest first (or the one at `seq`), from the
   * audit trail where they are recorded: the calculations carry no patient, so a clinician's
   * own are what is theirs to read.
   */
  async calculationRecords({ db }: StoreContext, filter: { actor: string; seq?: number }, page: Paging): Promise<{ total: number; records: AuditRecord[] }> {
    const where = 'action = any($1) and actor = $2 and ($3::bigint is null or seq = $3)';
    const params = [CALCULATION_ACTIONS, filter.actor, filter.seq ?? null];
    const { rows } = await db.query<AuditRow & { total: string }>(
      `select *, count(*) over () as total from audit where ${where} order by seq desc limit $4 offset $5`, [...params, page.count, page.offset]);
    const total = rows.length ? Number(rows[0].total) : await count(db, `select count(*) as n from audit where ${where}`, params);
    return { total, records: rows.map(auditRecordOf) };
  },

  /** A page of the audit trail, newest first, below `beforeSeq`, of one action if given; the total counts every record matching, on every page. */
  async auditRecords({ db }: StoreContext, filter: { action?: string; seq?: number; beforeSeq?: number }, limit: number): Promise<{ total: number; records: AuditRecord[] }> {
    const { rows } = await db.query<AuditRow>(
      `select * from audit where ($1::text is null or action = $1) and ($2::bigint is null or seq = $2) and ($3::bigint is null or seq < $3)
        order by seq desc limit $4`, [filter.action ?? null, filter.seq ?? null, filter.beforeSeq ?? null, limit]);
    const total = await count(db, 'select count(*) as n from audit where ($1::text is null or action = $1) and ($2::bigint is null or seq = $2)', [filter.action ?? null, filter.seq ?? null]);
    return { total, records: rows.map(auditRecordOf) };
  },
};


/** An Instance Number FHIR can carry (unsignedInt: a whole number 0…2³¹−1), else nothing. */
function unsignedInt(text: string | null): { instanceNumber?: number } {
  const value = Number(text);
  return text !== null && Number.isInteger(value) && value >= 0 && value <= 2 ** 31 - 1 ? { instanceNumber: value } : {};
}

async function count(db: Queryable, sql: string, params: unknown[]): Promise<number> {
  return Number((await db.query<{ n: string }>(sql, params)).rows[0].n);
}

/** The total when the page came back empty (an offset past the end): counted on its own. */
function countPatients(db: Queryable, filter: PatientFilter): Promise<number> {
  return count(db, `select count(*) as n from (select 1 from studies s
      where s.patient_id is not null and s.patient_id <> '' and ($1::text[] is null or s.site_id = any($1))
        and ($2::text is null or s.patient_id = $2) and ($3::text is null or s.site_id = $3)
        and ($4::text is null or ${PATIENT_ID_SQL} = $4)
      group by s.site_id, s.patient_id) p`, [sitesParam(filter.scope), filter.patientId ?? null, filter.siteId ?? null, filter.fhirId ?? null]);
}
