-- Users signed in through an OpenID Connect provider (issue 12). Such a user is the pair
-- (issuer, subject) — the provider's stable, never reassigned identifier — not its user name,
-- which the provider may let people choose or change. A local account has neither.
alter table users add column oidc_issuer text;
alter table users add column oidc_subject text;
create unique index users_oidc_identity on users (oidc_issuer, oidc_subject) where oidc_subject is not null;
