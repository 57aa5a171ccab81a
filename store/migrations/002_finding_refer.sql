-- Findings inside a model's refer band: too uncertain to hint either way.
alter table findings add column refer boolean not null default false;
