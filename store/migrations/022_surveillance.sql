-- Multi-point surveillance (issue 14). Daily counts per site and signal, derived from the rows
-- that hold the facts (findings, reviews, assessments, home vitals, consultations) by the
-- detection run and kept here so the screen and the detectors read a few rows, not the studies.
-- A denominator is itself a signal (`studies`, `assessments`, `consultations`): a day with no
-- case still has its denominator. Recomputed for any range (delete + insert in one transaction).
create table surveillance_counts (
  site_id text not null references sites (id),
  signal text not null,
  day date not null,
  count integer not null check (count >= 0),
  computed_at timestamptz not null default now(),
  primary key (site_id, signal, day)
);
create index surveillance_counts_signal_day on surveillance_counts (signal, day);

-- An alarm of a detection method on one day, for one site, one neighbour group's aggregate, or
-- several sites of a group rising together (multi-point). `id` derives from the policy version,
-- signal, scope, day and method: a second run of the same day raises nothing new. Its evidence
-- (series window, baseline, statistic, threshold, sites) is what it was raised on, kept as is.
create table surveillance_alerts (
  id text primary key,
  policy_id text not null,
  policy_version text not null,
  signal text not null,
  scope_kind text not null check (scope_kind in ('site', 'group', 'multi-point')),
  scope_id text not null references sites (id),
  day date not null,
  method text not null,
  sites text[] not null,
  evidence jsonb not null,
  status text not null default 'open' check (status in ('open', 'acknowledged')),
  raised_at timestamptz not null default now(),
  acknowledged_by text,
  acknowledged_at timestamptz,
  acknowledgement_note text
);
create index surveillance_alerts_open on surveillance_alerts (day desc) where status = 'open';
