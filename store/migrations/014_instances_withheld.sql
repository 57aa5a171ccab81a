-- The worklist and study view count a study's images consent kept from AI (012) on every
-- read: by this partial index, a study with none costs a probe, not a walk through its
-- images (a 10,000-image CT). Beside 011's indexes, which could not name the column yet.
create index instances_withheld on instances (study_instance_uid) where ai_withheld is not null;
