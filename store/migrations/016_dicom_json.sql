-- QIDO-RS and WADO-RS metadata (issue 13) answer each instance's attributes in the DICOM JSON
-- model (PS3.18 Annex F.2), computed from the stored bytes at ingest (dicom/dicom-json.ts) and
-- kept here, so a metadata request reads rows, not blobs. Null for instances stored before
-- this migration (or that dcmjs could not read): those are computed from the blob when first
-- asked and written back. At most 1 MiB of JSON per instance; the tags left out above that
-- are listed in dicom_json_omitted (null or empty: nothing was).
alter table instances add column dicom_json jsonb;
alter table instances add column dicom_json_omitted text[];

-- QIDO-RS matching (store/dicom-query.ts) without reading every study: exact keys by btree,
-- PatientName wildcards case-insensitively by the lower-case prefix (text_pattern_ops serves
-- LIKE 'abc%'; a leading wildcard reads the site's studies, bounded by the answer's limit).
create index studies_patient_id on studies (patient_id);
create index studies_accession on studies (accession_number);
create index studies_date on studies (study_date);
create index studies_patient_name_lower on studies (lower(patient_name) text_pattern_ops);
-- A study's series (ModalitiesInStudy, counts, the series list) and a series' instances.
create index series_study on series (study_instance_uid, modality);
create index instances_series on instances (series_instance_uid, sop_instance_uid);
-- WADO-RS metadata and retrieve of a study page through its instances by SOP Instance UID.
create index instances_study_sop on instances (study_instance_uid, sop_instance_uid);
