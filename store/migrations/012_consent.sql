-- Consent (issue 12): per site, whether its patients' studies may be analysed by AI and
-- shared outside the site, and each patient's own decision. The history of both lives in
-- the audit trail (every change is an audit record in the same transaction), so these
-- tables hold only what is in force.

-- A site's policy per purpose. No row: the purpose's default (consent_default below) —
-- AI processing is opt-out (runs unless the patient refused), sharing outside the site is
-- opt-in (only with the patient's consent).
create table consent_policies (
  site_id text not null references sites (id),
  purpose text not null check (purpose in ('ai-processing', 'sharing')),
  mode text not null check (mode in ('opt-in', 'opt-out')),
  updated_by text not null,
  updated_at timestamptz not null default now(),
  primary key (site_id, purpose)
);

-- A patient's decision at a site, keyed by the Patient ID the site's images carry (the ID a
-- site issues is its own: the same person at another site is another key). Absent: the
-- site's policy decides.
create table consent_decisions (
  site_id text not null references sites (id),
  patient_id text not null,
  purpose text not null check (purpose in ('ai-processing', 'sharing')),
  decision text not null check (decision in ('granted', 'refused')),
  note text,
  recorded_by text not null,
  recorded_at timestamptz not null default now(),
  primary key (site_id, patient_id, purpose)
);

-- The one place a purpose's default is written down.
create function consent_default(for_purpose text) returns text language sql immutable as
$$ select case for_purpose when 'sharing' then 'opt-in' else 'opt-out' end $$;

-- The one rule: null when the purpose is allowed, otherwise why not — 'patient-refused', or
-- 'no-consent-recorded' (an opt-in policy, no grant). A recorded decision wins, then the
-- site's policy, then the default. A plain expression of the values (no FROM, no subquery), so
-- the planner inlines it: a query over many studies joins the decision and the policy and
-- applies it per row at no call cost (20,000 studies: tens of milliseconds, not a third of a
-- second through a function called per row).
create function consent_rule(decision text, policy_mode text, for_purpose text) returns text language sql immutable as
$$ select case decision
     when 'granted' then null
     when 'refused' then 'patient-refused'
     else case when coalesce(policy_mode, consent_default(for_purpose)) = 'opt-in' then 'no-consent-recorded' end
   end $$;

-- The rule for one patient at one site, for a query about one image (ingest, findings
-- arriving, a consent change). A study without a Patient ID has no decision: its site's
-- policy decides.
create function consent_withheld(for_site text, for_patient text, for_purpose text) returns text language sql stable as
$$ select consent_rule(
     (select d.decision from consent_decisions d where d.site_id = for_site and d.patient_id = for_patient and d.purpose = for_purpose),
     (select p.mode from consent_policies p where p.site_id = for_site and p.purpose = for_purpose),
     for_purpose) $$;

-- A consent change finds the patient's studies at its site.
create index studies_site_patient on studies (site_id, patient_id);

-- Why AI was not run on an instance, decided when it arrived (or when a refusal stopped its
-- jobs): kept on the instance, so the study says so for as long as it holds that image even
-- if consent is granted later (images arriving after a grant are analysed; these are not
-- re-run, see docs/deidentification.md).
alter table instances add column ai_withheld text check (ai_withheld in ('patient-refused', 'no-consent-recorded'));
