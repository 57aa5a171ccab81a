-- The study's "why" in Chinese, beside `why`; empty until the study is next re-prioritised.
alter table studies add column why_zh text not null default '';

-- A second decision on a finding amends the one before it: both rows stay, the newer points back.
alter table reviews add column amends bigint references reviews;

-- Findings a reader adds that the AI did not report ("missed findings"), with a coded label,
-- optionally on one image and a region of it (image pixels). Appended, audited, never edited.
create table reader_findings (
  id bigserial primary key,
  study_instance_uid text not null references studies,
  label text not null,
  sop_instance_uid text references instances,
  region jsonb,
  comment text,
  reviewer text not null,
  created_at timestamptz not null default now()
);
create index reader_findings_study on reader_findings (study_instance_uid);
