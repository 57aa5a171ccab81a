-- Several models may read one instance (say, an adult and a paediatric chest model, one of
-- which declines). The instance is done when every model it was queued for has answered;
-- until then it stays queued, so a study never looks finished with half its findings.
-- Rows from before this migration keep an empty list: their first answer completes them.
alter table instances add column pending_models text[] not null default '{}';
