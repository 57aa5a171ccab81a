/**
 * Study, series and instance matching for QIDO-RS (PS3.18 §10.6) and DIMSE C-FIND (PS3.4
 * Annex C): the query's keys become one SQL statement over the study/series/instance rows
 * and their indexes (migration 016), limited to the caller's sites, ordered stably and
 * paged by limit/offset. Attributes a row does not hold (Study Time, Referring Physician,
 * Series Description, Rows…) come from the DICOM JSON stored with each instance at ingest:
 * one instance per answered study or series, never a walk through every instance's JSON.
 * Each answer is a DICOM JSON data set with the attributes PS3.18 Table 6.7.1-2 requires at
 * its level; keys a row has no value for are present without a Value (PS3.4 C.2.2.1.1).
 */
import type { DicomJsonAttribute, DicomJsonDataset, InstanceQuery, SeriesQuery, StudyQuery } from '../contract/dicomweb-query.ts';
import type { ImageAttributes } from '../contract/studies.ts';
import type { Queryable } from './db.ts';
import { sitesParam, type SiteScope } from './sites.ts';

export type { DicomJsonDataset, InstanceQuery, SeriesQuery, StudyQuery } from '../contract/dicomweb-query.ts';

/** Attributes an answer takes from the stored DICOM JSON of one of its instances, by level. */
const STUDY_FROM_INSTANCE = ['00080030', '00080090', '00100030', '00200010', '00080201', '00100010'];
const SERIES_FROM_INSTANCE = ['0008103E', '00080021', '00080031', '00400244', '00400245', '00180015'];
const INSTANCE_FROM_INSTANCE = ['00080016', '00080018', '00200013', '00280010', '00280011', '00280100', '00280008', '00080060', '00080023', '00080033', '00200020', '00080008'];

/** Optional: more attributes to take from the instance's JSON (QIDO `includefield`), or `all` of them. */
export interface IncludeFields {
  includeFields?: string[] | 'all';
}

const text = (vr: string, value: string | null | undefined): DicomJsonAttribute => (value ? { vr, Value: [value] } : { vr });
const number = (vr: string, value: number | string | null | undefined): DicomJsonAttribute =>
  (value === null || value === undefined ? { vr } : { vr, Value: [Number(value)] });
const personName = (value: string | null | undefined): DicomJsonAttribute => (value ? { vr: 'PN', Value: [{ Alphabetic: value }] } : { vr: 'PN' });

/** PS3.4 C.2.2.2.4 wildcards to a LIKE pattern on the lower-cased value (`\` escapes). */
export function wildcardPattern(value: string): string {
  return value.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%').replace(/\?/g, '_');
}

/** The JSON keys to copy from an instance: the level's own, plus what `includefield` asks (null: all). */
function copiedKeys(own: string[], include: IncludeFields['includeFields']): string[] | null {
  if (include === 'all') return null;
  return [...new Set([...own, ...(include ?? [])])];
}

/**
 * Copies `keys` (all, for null) of an instance's stored JSON into `dataset`: a value there wins
 * over the row's (it keeps a name's ideographic form, which the row's text does not), an empty
 * one does not erase the row's. Bulk data stays with the instance's own metadata.
 */
function merge(dataset: DicomJsonDataset, from: DicomJsonDataset | null, keys: string[] | null): DicomJsonDataset {
  if (!from) return dataset;
  for (const key of keys ?? Object.keys(from)) {
    const value = from[key];
    if (!value || value.BulkDataURI) continue;
    if (value.Value || value.InlineBinary || !dataset[key]) dataset[key] = value;
  }
  return dataset;
}

/** A jsonb expression picking `keys` (all, for null) of `column`, as a SQL fragment with the keys as parameter `$n`. */
const picked = (column: string, keysParam: string) => `case when ${keysParam}::text[] is null then ${column}
  else (select jsonb_object_agg(k, ${column} -> k) from unnest(${keysParam}::text[]) k where ${column} ? k) end`;

interface StudyRow {
  study_instance_uid: string;
  patient_id: string | null;
  patient_name: string | null;
  patient_sex: string | null;
  study_date: string | null;
  study_description: string | null;
  accession_number: string | null;
  modalities: string[] | null;
  series_count: string;
  instance_count: string;
  from_instance: DicomJsonDataset | null;
}

/** Studies matching `query` at `sites`, as DICOM JSON, newest study date first. */
export async function findStudies(db: Queryable, query: StudyQuery & IncludeFields, sites: SiteScope): Promise<DicomJsonDataset[]> {
  const keys = copiedKeys(STUDY_FROM_INSTANCE, query.includeFields);
  const { rows } = await db.query<StudyRow>(
    `select s.study_instance_uid, s.patient_id, s.patient_name, s.patient_sex, s.study_date, s.study_description, s.accession_number,
            (select array_agg(distinct x.modality order by x.modality) from series x where x.study_instance_uid = s.study_instance_uid and x.modality is not null) as modalities,
            (select count(*) from series x where x.study_instance_uid = s.study_instance_uid) as series_count,
            (select count(*) from instances i where i.study_instance_uid = s.study_instance_uid) as instance_count,
            (select ${picked('i.dicom_json', '$12')} from instances i where i.study_instance_uid = s.study_instance_uid and i.dicom_json is not null
              order by i.received_at, i.sop_instance_uid limit 1) as from_instance
       from studies s
      where ($1::text[] is null or s.site_id = any($1))
        and ($2::text is null or lower(s.patient_name) like $2 escape '\\')
        and ($3::text is null or s.patient_id = $3)
        and ($4::text is null or s.accession_number = $4)
        and ($5::text is null or lower(s.study_description) like $5 escape '\\')
        and ($6::text is null or s.study_date >= $6)
        and ($7::text is null or s.study_date <= $7)
        and ($8::text[] is null or exists (select 1 from series x where x.study_instance_uid = s.study_instance_uid and x.modality = any($8)))
        and ($9::text[] is null or s.study_instance_uid = any($9))
      order by s.study_date desc nulls last, s.study_instance_uid
      limit $10 offset $11`,
    [sitesParam(sites), query.patientName ? wildcardPattern(query.patientName) : null, query.patientId ?? null, query.accessionNumber ?? null,
      query.studyDescription ? wildcardPattern(query.studyDescription) : null, query.studyDate?.from ?? null, query.studyDate?.to ?? null,
      query.modalitiesInStudy?.length ? query.modalitiesInStudy : null, query.studyInstanceUids?.length ? query.studyInstanceUids : null,
      query.limit, query.offset, keys]);
  return rows.map((row) => merge({
    '00080005': { vr: 'CS', Value: ['ISO_IR 192'] },
    '00080020': text('DA', row.study_date),
    '00080030': { vr: 'TM' },
    '00080050': text('SH', row.accession_number),
    '00080056': { vr: 'CS', Value: ['ONLINE'] },
    '00080061': row.modalities?.length ? { vr: 'CS', Value: row.modalities } : { vr: 'CS' },
    '00080090': { vr: 'PN' },
    '00081030': text('LO', row.study_description),
    '00100010': personName(row.patient_name),
    '00100020': text('LO', row.patient_id),
    '00100030': { vr: 'DA' },
    '00100040': text('CS', row.patient_sex),
    '0020000D': text('UI', row.study_instance_uid),
    '00200010': { vr: 'SH' },
    '00201206': number('IS', row.series_count),
    '00201208': number('IS', row.instance_count),
  }, row.from_instance, keys));
}

interface SeriesRow {
  series_instance_uid: string;
  study_instance_uid: string;
  modality: string | null;
  series_number: number | null;
  body_part: string | null;
  instance_count: string;
  from_instance: DicomJsonDataset | null;
}

/** Series matching `query` at `sites`, by series number. */
export async function findSeries(db: Queryable, query: SeriesQuery & IncludeFields, sites: SiteScope): Promise<DicomJsonDataset[]> {
  const keys = copiedKeys(SERIES_FROM_INSTANCE, query.includeFields);
  const { rows } = await db.query<SeriesRow>(
    `select x.series_instance_uid, x.study_instance_uid, x.modality, x.series_number, x.body_part,
            (select count(*) from instances i where i.series_instance_uid = x.series_instance_uid) as instance_count,
            (select ${picked('i.dicom_json', '$8')} from instances i where i.series_instance_uid = x.series_instance_uid and i.dicom_json is not null
              order by i.sop_instance_uid limit 1) as from_instance
       from series x join studies s on s.study_instance_uid = x.study_instance_uid
      where ($1::text[] is null or s.site_id = any($1))
        and ($2::text is null or x.study_instance_uid = $2)
        and ($3::text[] is null or x.series_instance_uid = any($3))
        and ($4::text is null or x.modality = $4)
        and ($5::int is null or x.series_number = $5)
      order by x.study_instance_uid, x.series_number nulls last, x.series_instance_uid
      limit $6 offset $7`,
    [sitesParam(sites), query.studyInstanceUid ?? null, query.seriesInstanceUids?.length ? query.seriesInstanceUids : null, query.modality ?? null,
      query.seriesNumber ?? null, query.limit, query.offset, keys]);
  return rows.map((row) => merge({
    '00080005': { vr: 'CS', Value: ['ISO_IR 192'] },
    '00080060': text('CS', row.modality),
    '0008103E': { vr: 'LO' },
    '00080021': { vr: 'DA' },
    '00080031': { vr: 'TM' },
    '00080056': { vr: 'CS', Value: ['ONLINE'] },
    '00180015': text('CS', row.body_part),
    '0020000D': text('UI', row.study_instance_uid),
    '0020000E': text('UI', row.series_instance_uid),
    '00200011': number('IS', row.series_number),
    '00201209': number('IS', row.instance_count),
  }, row.from_instance, keys));
}

interface InstanceRow {
  sop_instance_uid: string;
  series_instance_uid: string;
  study_instance_uid: string;
  sop_class_uid: string;
  image: ImageAttributes | null;
  from_instance: DicomJsonDataset | null;
}

/** Instances matching `query` at `sites`, by instance number within their series. */
export async function findInstances(db: Queryable, query: InstanceQuery & IncludeFields, sites: SiteScope): Promise<DicomJsonDataset[]> {
  const keys = copiedKeys(INSTANCE_FROM_INSTANCE, query.includeFields);
  const { rows } = await db.query<InstanceRow>(
    `select i.sop_instance_uid, i.series_instance_uid, i.study_instance_uid, i.sop_class_uid, i.image, ${picked('i.dicom_json', '$9')} as from_instance
       from instances i join studies s on s.study_instance_uid = i.study_instance_uid
      where ($1::text[] is null or s.site_id = any($1))
        and ($2::text is null or i.study_instance_uid = $2)
        and ($3::text is null or i.series_instance_uid = $3)
        and ($4::text[] is null or i.sop_instance_uid = any($4))
        and ($5::text is null or i.sop_class_uid = $5)
        and ($6::text is null or i.dicom_json -> '00200013' -> 'Value' ->> 0 = $6)
      order by i.study_instance_uid, i.series_instance_uid,
               case when jsonb_typeof(i.dicom_json -> '00200013' -> 'Value' -> 0) = 'number' then (i.dicom_json -> '00200013' -> 'Value' ->> 0)::numeric end nulls last,
               i.sop_instance_uid
      limit $7 offset $8`,
    [sitesParam(sites), query.studyInstanceUid ?? null, query.seriesInstanceUid ?? null, query.sopInstanceUids?.length ? query.sopInstanceUids : null,
      query.sopClassUid ?? null, query.instanceNumber === undefined ? null : String(query.instanceNumber), query.limit, query.offset, keys]);
  return rows.map((row) => merge({
    '00080005': { vr: 'CS', Value: ['ISO_IR 192'] },
    '00080016': text('UI', row.sop_class_uid),
    '00080018': text('UI', row.sop_instance_uid),
    '00080056': { vr: 'CS', Value: ['ONLINE'] },
    '0020000D': text('UI', row.study_instance_uid),
    '0020000E': text('UI', row.series_instance_uid),
    '00200013': { vr: 'IS' },
    '00280010': number('US', row.image?.rows),
    '00280011': number('US', row.image?.columns),
    '00280100': number('US', row.image?.bitsAllocated),
    '00280008': number('IS', row.image ? row.image.numberOfFrames : undefined),
  }, row.from_instance, keys));
}

/** One stored instance as WADO-RS metadata and retrieve need it. */
export interface StoredDicomInstance {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  sopClassUid: string;
  transferSyntaxUid: string;
  blobSha256: string;
  image?: ImageAttributes;
  /** Null for instances stored before migration 016, or that dcmjs could not read. */
  dicomJson: DicomJsonDataset | null;
  omitted: string[];
}

/** Which instances: of a study, of one of its series, or one of them. */
export interface InstanceScope {
  study: string;
  series?: string;
  instance?: string;
}

interface StoredRow {
  study_instance_uid: string;
  series_instance_uid: string;
  sop_instance_uid: string;
  sop_class_uid: string;
  transfer_syntax_uid: string;
  blob_sha256: string;
  image: ImageAttributes | null;
  dicom_json: DicomJsonDataset | null;
  dicom_json_omitted: string[] | null;
}

/**
 * One page of the instances in `scope` at `sites`, by SOP Instance UID after `after` (keyset:
 * each page is an index range, so reading a 10,000-image study page by page costs the same per page).
 * `withJson: false` leaves the DICOM JSON out (retrieve needs only where the bytes are).
 */
export async function storedInstances(db: Queryable, scope: InstanceScope, sites: SiteScope, page: { after: string; limit: number; withJson: boolean }): Promise<StoredDicomInstance[]> {
  const { rows } = await db.query<StoredRow>(
    `select i.study_instance_uid, i.series_instance_uid, i.sop_instance_uid, i.sop_class_uid, i.transfer_syntax_uid, i.blob_sha256, i.image,
            case when $7 then i.dicom_json end as dicom_json, i.dicom_json_omitted
       from instances i join studies s on s.study_instance_uid = i.study_instance_uid
      where i.study_instance_uid = $1 and ($2::text is null or i.series_instance_uid = $2) and ($3::text is null or i.sop_instance_uid = $3)
        and ($4::text[] is null or s.site_id = any($4)) and i.sop_instance_uid > $5
      order by i.sop_instance_uid limit $6`,
    [scope.study, scope.series ?? null, scope.instance ?? null, sitesParam(sites), page.after, page.limit, page.withJson]);
  return rows.map((r) => ({
    studyInstanceUid: r.study_instance_uid, seriesInstanceUid: r.series_instance_uid, sopInstanceUid: r.sop_instance_uid, sopClassUid: r.sop_class_uid,
    transferSyntaxUid: r.transfer_syntax_uid, blobSha256: r.blob_sha256, ...(r.image && { image: r.image }), dicomJson: r.dicom_json, omitted: r.dicom_json_omitted ?? [],
  }));
}

/** Keeps the DICOM JSON computed for an instance that had none (stored before migration 016); a second writer changes nothing. */
export async function keepDicomJson(db: Queryable, sopInstanceUid: string, json: { dataset: DicomJsonDataset; omitted: string[] }): Promise<void> {
  await db.query('update instances set dicom_json = $2, dicom_json_omitted = $3 where sop_instance_uid = $1 and dicom_json is null',
    [sopInstanceUid, JSON.stringify(json.dataset), json.omitted]);
}

/** The transfer syntaxes the instances in `scope` are stored in (at most a few per study): whether a retrieve asking for one can be met. */
export async function storedTransferSyntaxes(db: Queryable, scope: InstanceScope, sites: SiteScope): Promise<string[]> {
  const { rows } = await db.query<{ ts: string }>(
    `select distinct i.transfer_syntax_uid as ts from instances i join studies s on s.study_instance_uid = i.study_instance_uid
      where i.study_instance_uid = $1 and ($2::text is null or i.series_instance_uid = $2) and ($3::text is null or i.sop_instance_uid = $3)
        and ($4::text[] is null or s.site_id = any($4)) limit 50`,
    [scope.study, scope.series ?? null, scope.instance ?? null, sitesParam(sites)]);
  return rows.map((r) => r.ts);
}
