-- Home and wearable vital signs (issue 14): readings per patient as a time series, NEWS2
-- evaluated over time, and the escalation alerts it raises. A patient is (site, Patient ID)
-- as everywhere; patient_key is its FHIR Patient id (40 hex of SHA-256 of 'site|Patient ID',
-- store/fhir-reads.ts), the only form that appears in a URL.

-- One reading. `parameter` is the NEWS2 card's feature name; a number is in the card's
-- canonical unit (`unit`: /min, %, mmHg, °C), consciousness (ACVPU) and supplemental oxygen
-- (true/false) are in value_code. What was sent is kept beside it. Unique per device,
-- parameter and time: a reading sent twice is ignored. Others count from it (surveillance:
-- fever = temperature value >= 38.0, tachypnoea = respiratoryRate value >= 21, per site and day
-- of effective_at).
create table vital_observations (
  id bigserial primary key,
  site_id text not null references sites (id),
  patient_id text not null,
  patient_key text not null,
  parameter text not null check (parameter in ('respiratoryRate', 'spo2', 'supplementalOxygen', 'systolicBp', 'pulse', 'consciousness', 'temperature')),
  value double precision,
  value_code text,
  unit text,
  original_value text not null,
  original_unit text,
  effective_at timestamptz not null,
  device_id text not null default '',
  source text not null check (source in ('fhir', 'json')),
  received_by text not null,
  received_at timestamptz not null default now(),
  check ((value is null) <> (value_code is null)),
  unique (site_id, patient_id, device_id, parameter, effective_at)
);
create index vital_observations_patient on vital_observations (site_id, patient_id, effective_at);
create index vital_observations_key on vital_observations (patient_key, effective_at);
create index vital_observations_site_day on vital_observations (site_id, parameter, effective_at);

-- NEWS2 at each reading time with a complete set (carry-forward windows in
-- pipeline/vitals/news2-series.ts): the score, band, points per term, each input with the time
-- it was measured (carried forward when earlier), and the escalation it calls for.
create table vital_news2 (
  site_id text not null references sites (id),
  patient_id text not null,
  patient_key text not null,
  evaluated_at timestamptz not null,
  score double precision not null,
  band text not null,
  escalation text check (escalation in ('urgent', 'emergency')),
  reasons jsonb not null,
  points jsonb not null,
  inputs jsonb not null,
  model jsonb not null,
  updated_at timestamptz not null default now(),
  primary key (site_id, patient_id, evaluated_at)
);
create index vital_news2_key on vital_news2 (patient_key, evaluated_at);

-- An escalation: raised once per episode of escalated NEWS2 points (and again if it rises to
-- emergency), for every clinician of the patient's site; acknowledged by one of them. The key
-- (site, patient key, episode start, level) makes raising it again a no-op.
create table vital_alerts (
  id bigserial primary key,
  site_id text not null references sites (id),
  patient_id text not null,
  patient_key text not null,
  level text not null check (level in ('urgent', 'emergency')),
  score double precision not null,
  band text not null,
  reasons jsonb not null,
  trend jsonb not null,
  raised_at timestamptz not null,
  episode_start timestamptz not null,
  status text not null default 'open' check (status in ('open', 'acknowledged')),
  acknowledged_by text,
  acknowledged_at timestamptz,
  created_at timestamptz not null default now(),
  idempotency_key text not null unique
);
create index vital_alerts_open on vital_alerts (status, site_id, raised_at);
create index vital_alerts_key on vital_alerts (patient_key, raised_at);
