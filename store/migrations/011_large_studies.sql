-- A study of 10,000 images (a CT) must cost the same per image to receive as a study of one.
-- Every write that changes a study re-ranks it, and triage asks of its images only "is there
-- one?", "is one waiting for AI?", "which one failed?" — index probes on (study, status) —
-- and of its findings only the most probable one per model, label and claim: those are kept
-- in study_finding_leaders as findings arrive, so re-ranking reads a few rows, never the study.

-- The study view pages a study's images in the order they were received; its prefix
-- (study_instance_uid) serves every lookup the old single-column index did.
drop index instances_study;
create index instances_study_received on instances (study_instance_uid, received_at, sop_instance_uid);
-- Images awaiting AI, and those it could not read, per study: few at any time, so these
-- stay small, and a probe cannot wander through a study's done images.
create index instances_queued on instances (study_instance_uid) where status = 'queued';
create index instances_failed on instances (study_instance_uid) where status = 'failed';

-- What a finding claims, as triage ranks it (inference/triage-policy: positive > refer > negative);
-- a finding outside the model's population claims nothing.
create function finding_claim(probability double precision, positive boolean, refer boolean, applicability jsonb) returns text
language sql immutable as $$
  select case when probability is null or applicability->>'applicable' = 'false' then 'not-applicable'
              when positive then 'positive' when refer then 'refer' else 'negative' end
$$;

-- Per study, model version (id@version), label and claim: the finding triage would pick
-- among them (the most probable; for not-applicable ones, the first received).
create table study_finding_leaders (
  study_instance_uid text not null references studies,
  model_key text not null,
  label text not null,
  claim text not null,
  finding_id text not null references findings,
  probability double precision,
  primary key (study_instance_uid, model_key, label, claim)
);

insert into study_finding_leaders (study_instance_uid, model_key, label, claim, finding_id, probability)
select distinct on (study_instance_uid, model_key, label, claim) study_instance_uid, model_key, label, claim, id, probability
  from (select f.*, (f.model->>'id') || '@' || (f.model->>'version') as model_key,
               finding_claim(f.probability, f.positive, f.refer, f.applicability) as claim
          from findings f) f
 order by study_instance_uid, model_key, label, claim, probability desc nulls last, created_at, id;
