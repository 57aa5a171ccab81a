-- A study's status, stored, so the worklist orders by it through an index and reads only the
-- page it answers. Computed per study on every read, it cost a read of every study the
-- caller may see (20,000 studies: ~70 ms on PGlite, whose one session everyone else waits
-- behind), and grew with every study a network keeps.
--
-- What a study's status is, in one place: pending while any image waits for AI; without
-- findings that make a claim ("not applicable" ones make none), failed if the AI could not
-- read an image, else ready for a human read; reviewed once every claim has a decision.
-- Clinical findings only (store/clinical-findings.ts): a shadow run's never reach a worklist.
-- Index probes only: instances_queued and instances_failed (migration 011), reviews_finding,
-- and findings_study_claims below, which holds exactly the findings it asks about (with
-- findings_study and no statistics, which PGlite never gathers, the planner would AND it with
-- findings_clinical_created and read every clinical finding's entry).
-- PL/pgSQL, not SQL: its statements' plans are kept for the session, where an SQL function's
-- would be made again on every call (1 ms each on PGlite: a backfill of 20,000 studies took
-- 23 s). No line of a function body ends in ';': the migration runner splits statements there.
create index findings_study_claims on findings (study_instance_uid) where deployment = 'clinical' and probability is not null;

create function study_status(uid text) returns text language plpgsql stable as $$ begin return case
    when exists (select 1 from instances i where i.study_instance_uid = uid and i.status = 'queued') then 'pending'
    when not exists (select 1 from findings f where f.study_instance_uid = uid and f.deployment = 'clinical' and f.probability is not null)
      then case when exists (select 1 from instances i where i.study_instance_uid = uid and i.status = 'failed') then 'failed' else 'ready' end
    when exists (select 1 from findings f where f.study_instance_uid = uid and f.deployment = 'clinical' and f.probability is not null
                   and not exists (select 1 from reviews r where r.finding_id = f.id)) then 'ready'
    else 'reviewed' end; end $$;

alter table studies add column status text not null default 'ready' check (status in ('pending', 'ready', 'failed', 'reviewed'));
update studies set status = study_status(study_instance_uid);

-- Kept by the writes themselves, in the statement that already stores a study's triage ranking
-- (store/studies.ts storePriority: every write that changes what triage reads ends with it, and
-- the status reads nothing triage does not, but reviews), and by a review (store/reviews.ts).
-- Statement triggers kept it too, whichever path wrote, but cost the finding's transaction a
-- second row version and two recomputations (~1.5 ms per study on PGlite).

-- The worklist's order (store/study-reads.ts getWorklist): studies needing a human first, by triage.
create index studies_worklist on studies ((status = 'reviewed'), priority desc, received_at);
