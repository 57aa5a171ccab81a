-- This Lantern as the audit witness of others (issue 12): the signed heads of another
-- Lantern's chain, kept where that Lantern's owner cannot reach them. Kept in the database
-- rather than a file because each head is also a record of this Lantern's own audit chain,
-- written in the same transaction: what was witnessed is under this Lantern's own seal
-- (signed checkpoints, its own witness if it has one), not in a file nothing vouches for.

-- A chain's key as first introduced (trust on first use): the key id is a hash of the key,
-- so no other key can claim it later.
create table audit_witness_keys (
  key_id text primary key,
  public_key text not null,
  introduced_by text not null,
  introduced_at timestamptz not null default now()
);

-- Every head witnessed, one per seq: a second head at a witnessed seq with another hash is
-- refused, so the first one stays as the evidence.
create table audit_witness_heads (
  key_id text not null references audit_witness_keys (key_id),
  seq bigint not null,
  hash text not null,
  at text not null,
  signature text not null,
  received_by text not null,
  received_at timestamptz not null default now(),
  primary key (key_id, seq)
);

-- Append-only against mistakes (an owner can drop this; the audit chain's records of each head remain).
create function audit_witness_append_only() returns trigger language plpgsql as $$ begin raise exception 'the audit witness''s tables are append-only'; end $$;

create trigger audit_witness_heads_append_only before update or delete or truncate on audit_witness_heads
  for each statement execute function audit_witness_append_only();

create trigger audit_witness_keys_append_only before update or delete or truncate on audit_witness_keys
  for each statement execute function audit_witness_append_only()
