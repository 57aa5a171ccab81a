-- Remote reading and consultation (issue 14; contract/consultations.ts): a case a site asks a
-- site that reads for it, or one a site's policy opens on its own. The row is what is in force;
-- the audit trail holds each step. `subject` and `opinion` are the contract's shapes as JSON.
create table consultations (
  id text primary key,
  from_site_id text not null references sites (id),
  to_site_id text not null references sites (id),
  origin text not null check (origin in ('asked', 'ai-reader-disagreement', 'ai-low-confidence')),
  -- The asking user, or `policy:<site>` for a routed case.
  asked_by text not null,
  asked_at timestamptz not null default now(),
  subject jsonb not null,
  -- The Study Instance UID of a study subject, for the queries that join studies (surveillance, the study's cases).
  study_instance_uid text references studies (study_instance_uid),
  question text not null,
  urgency text not null check (urgency in ('routine', 'urgent', 'emergency')),
  status text not null default 'open' check (status in ('open', 'in-review', 'answered', 'withdrawn')),
  -- I–IV when known: the queue's first ordering (null sorts last).
  triage_level text check (triage_level in ('I', 'II', 'III', 'IV')),
  -- The SLA clock, fixed when the case is asked from the answering site's policy then in force.
  sla_minutes integer not null,
  due_at timestamptz not null,
  -- The asker's attestation that the patient consented to remote consultation; null for a routed case
  -- (a review by the site that already reads this site's films, not a consultation the patient asks).
  patient_consented boolean,
  opened_by text,
  opened_at timestamptz,
  opinion jsonb,
  answered_by text,
  answered_at timestamptz,
  withdrawn_by text,
  withdrawn_at timestamptz,
  -- A routed case's key (`<origin>:<study>`): a review or a result job run twice opens one case.
  idempotency_key text unique,
  check ((status = 'answered') = (opinion is not null))
);
-- The answering site's queue: open cases by triage level, then by the clock.
create index consultations_queue on consultations (to_site_id, status, triage_level, due_at);
create index consultations_asked on consultations (from_site_id, status, asked_at);
create index consultations_study on consultations (study_instance_uid) where study_instance_uid is not null;

-- A site's consultation policy (contract consultationPolicy), as its admin set it; a site without a row has the defaults.
create table consultation_policies (
  site_id text primary key references sites (id),
  policy jsonb not null,
  updated_by text not null,
  updated_at timestamptz not null default now()
);
