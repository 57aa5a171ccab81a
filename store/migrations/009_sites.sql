-- Sites (issue 12 designs for them, issue 14 builds the network on them): every study and
-- every user belongs to sites; a user reads and writes only studies of its own sites. The
-- embedded default is one site, so a single clinic sees no difference.
create table sites (
  id text primary key,
  name text not null,
  level text not null check (level in ('village', 'township', 'county', 'city')),
  parent_id text references sites (id),
  created_at timestamptz not null default now()
);
insert into sites (id, name, level) values ('main', 'This clinic', 'county');

-- The sites a user acts for; the first is where what it sends in is filed.
alter table users add column sites text[] not null default '{main}';

alter table studies add column site_id text not null default 'main' references sites (id);
create index studies_site on studies (site_id);
