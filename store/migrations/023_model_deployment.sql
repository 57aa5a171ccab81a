-- Deployment states (issue 15, docs/models.md "Deployment states"). A finding says which run
-- made it: `clinical` (shown to clinicians, in triage, SR and FHIR) or `shadow` (a shadow model,
-- or a canary model on a study outside its share: stored with full provenance, never shown to
-- clinicians). Every clinician-facing read goes through store/clinical-findings.ts.
alter table findings add column deployment text not null default 'clinical' check (deployment in ('clinical', 'shadow'));
-- Model-team reads (comparison, drift) look shadow findings up by study; clinical reads keep findings_study.
create index findings_shadow_study on findings (study_instance_uid) where deployment = 'shadow';

-- The deployment state each loaded model version's card had when the API last started, so a
-- change of state (a card change) is found and audited (`model.deployment-changed`) at start.
create table model_deployments (
  model_key text primary key,
  deployment text not null check (deployment in ('clinical', 'shadow', 'canary', 'evaluate-only')),
  -- The canary's share and sites when canary: a change of share is a change of deployment.
  canary jsonb,
  card_sha256 text not null check (card_sha256 ~ '^[0-9a-f]{64}$'),
  seen_at timestamptz not null default now()
);
