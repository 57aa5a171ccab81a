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

-- The one rule, for every query that must honour it (ingest, findings arriving, the study
-- view, exports): null when the purpose is allowed for this patient at this site, otherwise
-- why not — 'patient-refused', or 'no-consent-recorded' (an opt-in policy, no grant). A
-- recorded decision wins, then the site's policy, then the default. A study without a
-- Patient ID has no decision: its site's policy decides.
create function consent_withheld(for_site text, for_patient text, for_purpose text) returns text language sql stable as
$$ select case
     when d.decision = 'granted' then null
     when d.decision = 'refused' then 'patient-refused'
     when coalesce(p.mode, consent_default(for_purpose)) = 'opt-in' then 'no-consent-recorded'
     else null end
   from (select 1) as one
   left join consent_decisions d on d.site_id = for_site and d.patient_id = for_patient and d.purpose = for_purpose
   left join consent_policies p on p.site_id = for_site and p.purpose = for_purpose $$;

-- Why AI was not run on an instance, decided when it arrived (or when a refusal stopped its
-- jobs): kept on the instance, so the study says so for as long as it holds that image even
-- if consent is granted later (images arriving after a grant are analysed; these are not
-- re-run, see docs/deidentification.md).
alter table instances add column ai_withheld text check (ai_withheld in ('patient-refused', 'no-consent-recorded'));
