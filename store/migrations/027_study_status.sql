-- A study's status, stored, so the worklist orders by it through an index and reads only the
-- page it answers. Computed per study on every read, it cost a read of every study the
-- caller may see (20,000 studies: ~70 ms on PGlite, whose one session everyone else waits
-- behind), and grew with every study a network keeps.
--
-- What a study's status is, in one place: pending while any image waits for AI; without
-- findings that make a claim ("not applicable" ones make none), failed if the AI could not
-- read an image, else ready for a human read; reviewed once every claim has a decision.
-- Clinical findings only (store/clinical-findings.ts): a shadow run's never reach a worklist.
-- Index probes only: instances_queued and instances_failed (migration 011), findings_study,
-- reviews_finding.
create function study_status(uid text) returns text language sql stable as $$
  select case
    when exists (select 1 from instances i where i.study_instance_uid = uid and i.status = 'queued') then 'pending'
    when not exists (select 1 from findings f where f.study_instance_uid = uid and f.deployment = 'clinical' and f.probability is not null)
      then case when exists (select 1 from instances i where i.study_instance_uid = uid and i.status = 'failed') then 'failed' else 'ready' end
    when exists (select 1 from findings f where f.study_instance_uid = uid and f.deployment = 'clinical' and f.probability is not null
                   and not exists (select 1 from reviews r where r.finding_id = f.id)) then 'ready'
    else 'reviewed' end
$$;

alter table studies add column status text not null default 'ready' check (status in ('pending', 'ready', 'failed', 'reviewed'));
update studies set status = study_status(study_instance_uid);

-- Kept by the database itself, after each statement that writes what the status reads
-- (instances, findings, reviews), whichever code path wrote it: a path that forgot would leave
-- a study misplaced in every worklist. Every such write runs under the audit chain's lock
-- (store/audit.ts), so two writers never compute a study's status from each other's stale view.
-- A trigger's body is one line: the migration runner splits statements at a ';' ending a line.
create function refresh_study_status() returns trigger language plpgsql as $$ begin update studies s set status = fresh.status from (select uid, study_status(uid) as status from (select distinct study_instance_uid as uid from changed) touched) fresh where s.study_instance_uid = fresh.uid and s.status <> fresh.status; return null; end $$;
create function refresh_reviewed_study_status() returns trigger language plpgsql as $$ begin update studies s set status = fresh.status from (select uid, study_status(uid) as status from (select distinct f.study_instance_uid as uid from changed r join findings f on f.id = r.finding_id) touched) fresh where s.study_instance_uid = fresh.uid and s.status <> fresh.status; return null; end $$;

-- One trigger per event: PostgreSQL gives transition tables only to single-event triggers.
create trigger instances_inserted_status after insert on instances referencing new table as changed for each statement execute function refresh_study_status();
create trigger instances_updated_status after update on instances referencing new table as changed for each statement execute function refresh_study_status();
create trigger findings_inserted_status after insert on findings referencing new table as changed for each statement execute function refresh_study_status();
create trigger findings_updated_status after update on findings referencing new table as changed for each statement execute function refresh_study_status();
create trigger reviews_inserted_status after insert on reviews referencing new table as changed for each statement execute function refresh_reviewed_study_status();

-- The worklist's order (store/study-reads.ts getWorklist): studies needing a human first, by triage.
create index studies_worklist on studies ((status = 'reviewed'), priority desc, received_at);
