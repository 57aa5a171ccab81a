-- CDS Hooks (api/routes/cds-hooks.ts): the cards Lantern answered a hook call with, so that
-- feedback on a card (accepted / overridden, with a coded reason) can be tied to what the card
-- said and to the model that made it, and counted in the agreement statistics beside readers'
-- decisions. A card's uuid is derived from (service, hookInstance, card): a retried hook call
-- writes the same rows.
create table cds_cards (
  uuid text primary key,
  service_id text not null,
  hook text not null,
  hook_instance text not null,
  -- What the card reports: score | risk | triage | imaging | ai-coverage | not-computed.
  kind text not null,
  -- The model whose answer the card carries (null for a card that carries none).
  model_id text,
  model_version text,
  summary text not null,
  indicator text not null check (indicator in ('info', 'warning', 'critical')),
  -- Who asked (the authenticated user or the CDS client's mapped user) and the sites they act for:
  -- feedback from a user of none of those sites is answered as for an unknown card.
  issued_to text not null,
  sites text[] not null,
  issued_at timestamptz not null default now()
);
create index cds_cards_issued on cds_cards (issued_at);

-- Idempotent per card and outcome: the same feedback sent again changes nothing.
create table cds_feedback (
  card_uuid text not null references cds_cards,
  outcome text not null check (outcome in ('accepted', 'overridden')),
  reason_system text,
  reason_code text,
  reason_display text,
  user_comment text,
  accepted_suggestions jsonb,
  outcome_at timestamptz not null,
  actor text not null,
  recorded_at timestamptz not null default now(),
  primary key (card_uuid, outcome)
);
