-- Studies, series and instances are keyed by their DICOM UIDs so a re-upload is a no-op.
create table studies (
  study_instance_uid text primary key,
  patient_id text,
  patient_name text,
  patient_sex text,
  patient_age text,
  study_date text,
  study_description text,
  accession_number text,
  modality text,
  priority double precision not null default 0,
  why text not null default '',
  received_at timestamptz not null default now()
);

create table series (
  series_instance_uid text primary key,
  study_instance_uid text not null references studies,
  modality text,
  series_number integer,
  body_part text
);

-- status: queued (AI pending) | done (every applicable model answered) | failed (AI could not read it)
create table instances (
  sop_instance_uid text primary key,
  series_instance_uid text not null references series,
  study_instance_uid text not null references studies,
  sop_class_uid text not null,
  transfer_syntax_uid text not null,
  modality text,
  blob_sha256 text not null,
  byte_size bigint not null,
  image jsonb,
  status text not null default 'queued' check (status in ('queued', 'done', 'failed')),
  error_code text,
  error_message text,
  received_at timestamptz not null default now()
);
create index instances_study on instances (study_instance_uid);

-- id is derived from (instance, model id, model version, label): a job run twice writes the same row.
create table findings (
  id text primary key,
  sop_instance_uid text not null references instances,
  study_instance_uid text not null references studies,
  label text not null,
  display text not null,
  probability double precision not null,
  positive boolean not null,
  operating_point jsonb not null,
  model jsonb not null,
  timing_ms jsonb not null,
  heatmap jsonb,
  created_at timestamptz not null default now()
);
create index findings_study on findings (study_instance_uid);

create table reviews (
  id bigserial primary key,
  finding_id text not null references findings,
  decision text not null check (decision in ('accept', 'override')),
  reason_code text,
  comment text,
  reviewer text not null,
  created_at timestamptz not null default now()
);
create index reviews_finding on reviews (finding_id);

-- Append-only, hash-chained. payload is the canonical JSON text that was hashed, kept
-- verbatim so verification never depends on how the database re-serialises JSON.
create table audit (
  seq bigint primary key,
  at text not null,
  actor text not null,
  action text not null,
  entity_type text not null,
  entity_id text not null,
  payload text not null,
  idempotency_key text unique,
  prev_hash text not null,
  hash text not null
);
