-- Local accounts, browser sessions and API tokens (issue 12). Secrets are stored only as
-- hashes: scrypt for passwords, SHA-256 for session and token values (random, 256 bits).
create table users (
  username text primary key,
  display_name text not null,
  roles text[] not null,
  password_hash text,
  created_at timestamptz not null default now(),
  disabled_at timestamptz
);

create table sessions (
  token_hash text primary key,
  username text not null references users (username),
  csrf_token text not null,
  created_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  expires_at timestamptz not null
);
create index sessions_username on sessions (username);

create table api_tokens (
  token_hash text primary key,
  username text not null references users (username),
  name text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null
);
