-- Consent (012), faster over many studies. consent_withheld as 012 wrote it has subqueries, so
-- PostgreSQL cannot inline it and a query over many studies called it per row (the research
-- list over 20,000 studies: 240 ms). The rule becomes consent_rule, an expression of the
-- decision and the policy that queries over many studies join (store/consent.ts
-- consentOfStudies); consent_withheld, for one patient, applies the same rule. Same answers.

-- The one rule: null when the purpose is allowed, otherwise why not — 'patient-refused', or
-- 'no-consent-recorded' (an opt-in policy, no grant). A recorded decision wins, then the
-- site's policy, then the default. A plain expression of the values (no FROM, no subquery), so
-- the planner inlines it: a query over many studies joins the decision and the policy and
-- applies it per row at no call cost (20,000 studies: tens of milliseconds, not a third of a
-- second through a function called per row).
create or replace function consent_rule(decision text, policy_mode text, for_purpose text) returns text language sql immutable as
$$ select case decision
     when 'granted' then null
     when 'refused' then 'patient-refused'
     else case when coalesce(policy_mode, consent_default(for_purpose)) = 'opt-in' then 'no-consent-recorded' end
   end $$;

-- The rule for one patient at one site, for a query about one image (ingest, findings
-- arriving, a consent change). A study without a Patient ID has no decision: its site's
-- policy decides.
create or replace function consent_withheld(for_site text, for_patient text, for_purpose text) returns text language sql stable as
$$ select consent_rule(
     (select d.decision from consent_decisions d where d.site_id = for_site and d.patient_id = for_patient and d.purpose = for_purpose),
     (select p.mode from consent_policies p where p.site_id = for_site and p.purpose = for_purpose),
     for_purpose) $$;

-- A consent change finds the patient's studies at its site.
create index if not exists studies_site_patient on studies (site_id, patient_id);
