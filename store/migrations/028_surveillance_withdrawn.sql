-- A surveillance alert whose day no longer alarms when its counts are recomputed (a febrile
-- assessment corrected, an AI positive that a later run no longer counts) is withdrawn: still
-- listed, with when and why, never deleted; its `surveillance.alert-withdrawn` audit record says
-- the same. Only an open alert is withdrawn: one a clinician has acknowledged stays as they left it.
alter table surveillance_alerts drop constraint surveillance_alerts_status_check;
alter table surveillance_alerts add constraint surveillance_alerts_status_check check (status in ('open', 'acknowledged', 'withdrawn'));
alter table surveillance_alerts add column withdrawn_at timestamptz;
alter table surveillance_alerts add column withdrawal jsonb;
