-- Reading relations of the care network (issue 14): a site reads for another — a county
-- hospital's radiologists read the films of the township clinics it serves, and answer their
-- consultations. Direct only: a county that reads for a township does not thereby read for
-- the township's villages. Set by admins, every change audited.
create table site_reading (
  reader_site_id text not null references sites (id),
  read_site_id text not null references sites (id),
  created_at timestamptz not null default now(),
  primary key (reader_site_id, read_site_id),
  check (reader_site_id <> read_site_id)
);
create index site_reading_read on site_reading (read_site_id);
