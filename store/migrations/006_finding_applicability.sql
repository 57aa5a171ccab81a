-- A read-assist model answers only inside the population and images its card declares.
-- Outside, its finding has no probability; `applicability` says why (and, inside, which
-- attributes could not be checked and the out-of-distribution score). Findings written
-- before this migration have none: they were all answered.
alter table findings alter column probability drop not null;
alter table findings add column applicability jsonb;
