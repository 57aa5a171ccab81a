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
-- would be made again on every call (1 ms each on PGlite). No line of a function body ends in
-- ';': the migration runner splits statements there.
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

-- Kept by the database itself, after each statement that writes what the status reads
-- (instances, findings, reviews), whichever code path wrote it: a path that forgot would leave
-- a study misplaced in every worklist. Every such write runs under the audit chain's lock
-- (store/audit.ts), so two writers never compute a study's status from each other's stale view.
-- Only rows that can move a status are looked at: an image received done (an AI results SR),
-- a not-applicable or shadow finding, an image whose status stays, move none, so the hot path
-- pays a glance at the statement's rows for them, not a recomputation.
create function refresh_study_statuses(uids text[]) returns void language plpgsql as $$ declare uid text; fresh text; begin foreach uid in array uids loop fresh := study_status(uid); update studies set status = fresh where study_instance_uid = uid and status <> fresh; end loop; end $$;
create function instances_moved_studies() returns trigger language plpgsql as $$ begin if TG_OP = 'INSERT' then perform refresh_study_statuses(array(select distinct study_instance_uid from changed where status <> 'done')); else perform refresh_study_statuses(array(select distinct c.study_instance_uid from changed c join earlier e using (sop_instance_uid) where c.status <> e.status)); end if; return null; end $$;
create function findings_moved_studies() returns trigger language plpgsql as $$ begin if TG_OP = 'INSERT' then perform refresh_study_statuses(array(select distinct study_instance_uid from changed where deployment = 'clinical' and probability is not null)); else perform refresh_study_statuses(array(select distinct study_instance_uid from changed)); end if; return null; end $$;
create function reviews_moved_studies() returns trigger language plpgsql as $$ begin perform refresh_study_statuses(array(select distinct f.study_instance_uid from changed r join findings f on f.id = r.finding_id)); return null; end $$;

-- One trigger per event: PostgreSQL gives transition tables only to single-event triggers.
create trigger instances_inserted_status after insert on instances referencing new table as changed for each statement execute function instances_moved_studies();
create trigger instances_updated_status after update on instances referencing old table as earlier new table as changed for each statement execute function instances_moved_studies();
create trigger findings_inserted_status after insert on findings referencing new table as changed for each statement execute function findings_moved_studies();
create trigger findings_updated_status after update on findings referencing new table as changed for each statement execute function findings_moved_studies();
create trigger reviews_inserted_status after insert on reviews referencing new table as changed for each statement execute function reviews_moved_studies();

-- The worklist's order (store/study-reads.ts getWorklist): studies needing a human first, by triage.
create index studies_worklist on studies ((status = 'reviewed'), priority desc, received_at);
