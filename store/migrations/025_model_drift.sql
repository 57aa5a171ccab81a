-- Drift monitoring per model (issue 15). The worker summarises the preprocessed model input
-- once per image (mean, sd, 5th/95th percentile: inference/input-stats.ts); it is kept with
-- each finding it produced. Findings written before this migration, and not-applicable ones
-- whose image was never decoded, have none.
alter table findings add column input_stats jsonb;

-- Drift alerts: one per model version, monitored quantity and window that departed from the
-- reference (PSI over the alert threshold). `id` derives from (model, version, quantity,
-- window): an evaluation run twice, or by two API processes, raises each alert once. Its
-- evidence (reference and window bounds, bins, PSI) is what it was raised on, kept as is.
create table model_drift_alerts (
  id text primary key,
  model_id text not null,
  model_version text not null,
  quantity text not null,
  window_index integer not null check (window_index >= 0),
  psi double precision not null,
  evidence jsonb not null,
  status text not null default 'open' check (status in ('open', 'acknowledged')),
  raised_at timestamptz not null default now(),
  acknowledged_by text,
  acknowledged_at timestamptz,
  acknowledgement_note text,
  unique (model_id, model_version, quantity, window_index)
);
create index model_drift_alerts_model on model_drift_alerts (model_id, raised_at desc);
create index findings_model_created on findings ((model->>'id'), created_at);
