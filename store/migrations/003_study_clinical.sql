-- The latest bedside assessment of a study's patient (scores and risks computed from
-- vitals), which triage fuses with the imaging findings. One row per study; replaced
-- by a newer assessment, every version kept in the audit trail.
create table study_clinical (
  study_instance_uid text primary key references studies,
  clinical jsonb not null,
  recorded_at timestamptz not null default now()
);

-- What triage concluded for the study (level, reasons), beside its priority and "why".
alter table studies add column triage jsonb;
